import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { streamkitVersion } from '../../src/version.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream, text: () => text };
}

describe('--version fast path', () => {
  it('reads the version from package.json', () => {
    expect(streamkitVersion()).toBe(pkg.version);
  });

  it.each(['--version', '-V'])('main([%s]) prints the version and exits 0', async (flag) => {
    const out = capture();
    expect(await main([flag], { out: out.stream })).toBe(0);
    expect(out.text()).toBe(`${pkg.version}\n`);
  });

  it('prints the same as commander does when other options come along', async () => {
    const out = capture();
    expect(await main(['--version', '--no-color'], { out: out.stream })).toBe(0);
    expect(out.text()).toBe(`${pkg.version}\n`);
  });

  // Lists every module a child Node process resolves while the launcher bin/streamkit.js runs with args (module.register hooks).
  function modulesLoadedBy(args: string[]): { stdout: string; modules: string[] } {
    const hooks =
      'let port; export function initialize(d) { port = d.port; } export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }';
    const script = `
      import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const { port1, port2 } = new MessageChannel();
      const seen = [];
      port1.on('message', (u) => seen.push(u));
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
      process.argv = [process.argv[0], 'streamkit', ...${JSON.stringify(args)}];
      await import(${JSON.stringify(new URL('../../bin/streamkit.js', import.meta.url).href)});
      setTimeout(() => { process.stderr.write(JSON.stringify(seen)); port1.close(); }, 200);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    return { stdout: r.stdout, modules: JSON.parse(r.stderr.trim().split('\n').pop() ?? '[]') as string[] };
  }

  it('the built CLI loads no dependency and no command module for --version', () => {
    const r = modulesLoadedBy(['--version']);
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.modules.some((u) => u.endsWith('/version.js'))).toBe(true);
    expect(r.modules.some((u) => u.endsWith('/cli/main.js'))).toBe(false);
    expect(r.modules.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    expect(r.modules.some((u) => u.endsWith('/cli/program.js'))).toBe(false);
  });

  it('(control) other commands load the program, from the self-contained bundle', () => {
    const r = modulesLoadedBy(['presets', 'list']);
    expect(r.stdout).toContain('h264-ladder'); // the bundle finds presets/ too
    expect(r.modules.some((u) => u.endsWith('/dist/bundle/main.js'))).toBe(true);
    expect(r.modules.some((u) => /\/dist\/bundle\/program-[\w-]+\.js$/.test(u))).toBe(true);
    // commander, zod, yaml, execa are inside the bundle: nothing is resolved in node_modules
    expect(r.modules.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    expect(r.modules.some((u) => u.endsWith('/cli/program.js'))).toBe(false);
  });
});
