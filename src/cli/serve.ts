import { type Command, InvalidArgumentError } from 'commander';
import type { RequestRecord } from '../serve/access-log.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';

type Run = (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>;

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number, 0 to 65535 (0: any free port)');
  return n;
}

function maxAge(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 86400) throw new InvalidArgumentError('expected whole seconds, 0 to 86400 (e.g. 2 for an origin behind a CDN)');
  return n;
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
function loopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** How long in-flight responses may take once asked to stop. */
const GRACE_MS = 5000;

export function registerServe(program: Command, io: CliIo, run: Run): void {
  program
    .command('serve')
    .description('serve a package (or a folder of packages) over HTTP with CDN-friendly headers, an index page and a player page per package')
    .argument('[dir]', 'a package folder or a folder of packages', '.')
    .option('--port <n>', 'TCP port (0: any free port, printed at start)', port, 8080)
    .option('--host <address>', 'address to listen on; the default is this machine only (0.0.0.0: every interface)', '127.0.0.1')
    .option('--playlist-max-age <seconds>', 'Cache-Control max-age of playlists and MPDs, for use as an origin (default: no-cache, a local preview)', maxAge)
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit serve pkgs                         # then open http://127.0.0.1:8080/
  $ streamkit serve out/movie --port 0 --json    # any free port, NDJSON events (listening, one per request)
  $ streamkit serve /srv/pkgs --host 0.0.0.0 --port 80 --playlist-max-age 2
Segments and images are sent with "public, max-age=31536000, immutable"; playlists with no-cache
(or --playlist-max-age) and an ETag. Ctrl-C (SIGINT) or SIGTERM: in-flight responses finish, exit 0.`,
    )
    .action(async (dir: string, o: { port: number; host: string; playlistMaxAge?: number }, cmd: Command) =>
      run(async (ctx) => {
        // loaded here: the other commands do not pay for the HTTP server's modules at start-up
        const [{ accessLogLine }, { listPackages }, { packageUrl, playerUrl }, { startServer }] = await Promise.all([
          import('../serve/access-log.js'),
          import('../serve/packages.js'),
          import('../serve/pages.js'),
          import('../serve/server.js'),
        ]);
        const json = ctx.mode === 'json';
        const quiet = ctx.mode === 'quiet';
        const say = (line: string): void => {
          if (!quiet && !json) io.out.write(`${line}\n`);
        };
        const onRequest = json
          ? (r: RequestRecord): void =>
              ctx.reporter.event({
                type: 'request',
                remote: r.remote,
                method: r.method,
                target: r.target,
                status: r.status,
                bytes: r.bytes,
                durationMs: Number(r.durationMs.toFixed(3)),
              })
          : quiet
            ? undefined
            : (r: RequestRecord): void => {
                io.err.write(`${accessLogLine(r)}\n`);
              };
        const server = await startServer({ root: dir, host: o.host, port: o.port, playlistMaxAge: o.playlistMaxAge ?? null, ...(onRequest ? { onRequest } : {}) });
        io.stopNote = `stopping the server: in-flight responses get ${GRACE_MS / 1000} s to finish`;
        const packages = await listPackages(server.root);
        if (json) {
          ctx.reporter.event({
            type: 'serve',
            status: 'listening',
            url: `${server.url}/`,
            host: server.host,
            port: server.port,
            root: server.root,
            playlistMaxAge: o.playlistMaxAge ?? null,
            packages: packages.map((p) => ({ path: p.path.join('/'), master: `${server.url}${packageUrl(p.path, 'master.m3u8')}`, player: `${server.url}${playerUrl(p.path)}` })),
          });
        } else {
          say(`serving ${server.root} at ${server.url}/ (${packages.length} package${packages.length === 1 ? '' : 's'}; Ctrl-C to stop)`);
          for (const p of packages) say(`  ${p.name}: ${server.url}${playerUrl(p.path)}`);
          if (packages.length === 0) say('  no package found yet (a folder with a master.m3u8); the index page lists them as they appear');
        }
        if (!loopback(server.host)) {
          const note = `listening on ${server.host}: every machine that can reach this one can read ${server.root}`;
          if (json) ctx.reporter.event({ type: 'warning', message: note });
          else if (!quiet) io.err.write(`note: ${note}\n`);
        }
        await new Promise<void>((resolve) => {
          if (io.signal.aborted) resolve();
          else io.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await server.close(GRACE_MS);
        if (json) ctx.reporter.event({ type: 'serve', status: 'stopped', requests: server.requests() });
        else say(`stopped after ${server.requests()} request${server.requests() === 1 ? '' : 's'}`);
      }, cmd.optsWithGlobals<GlobalOptions>()),
    );
}
