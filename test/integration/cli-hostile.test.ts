/**
 * Hostile input through the built CLI: local names that look like options or protocols are files;
 * remote inputs only as explicit http(s) URLs, confined to http(s); playlists and concat lists that
 * name other local files are refused before anything they name is opened; presets are data.
 *
 * "Never opened" is checked with a canary: a named pipe (FIFO) whose writer side only completes its
 * open when some process opens the pipe for reading.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync, openSync, closeSync } from 'node:fs';
import { copyFile, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cli, cliEnv, FFMPEG, makeClip, need, parseEvents, probeFile, stagingLeft, tempDir, unmet, writeCliPreset } from '../helpers/index.js';

const run = promisify(execFile);

/** A FIFO that records whether anything opened it for reading. */
async function canary(path: string): Promise<{ path: string; wasRead: () => Promise<boolean> }> {
  await run('mkfifo', [path]);
  let readByOther = false;
  let closing = false;
  // completes only when a reader opens the FIFO; then hand it a few bytes and EOF so it never hangs
  const writer = open(path, 'w').then(async (fh) => {
    if (!closing) readByOther = true;
    await fh.write('CANARY\n').catch(() => undefined);
    await fh.close();
  });
  return {
    path,
    async wasRead() {
      closing = true;
      if (!readByOther) {
        // release our own pending writer: open the reading end ourselves
        const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
        await writer;
        closeSync(fd);
      } else {
        await writer;
      }
      return readByOther;
    },
  };
}

describe.skipIf(unmet(need.ffmpeg))('hostile input', () => {
  let dir = '';
  let preset = '';
  let env: NodeJS.ProcessEnv = {};
  let server: Server;
  let base = '';
  const served = new Map<string, Buffer>();
  const requests: string[] = [];

  beforeAll(async () => {
    assertBuilt();
    dir = await tempDir('hostile');
    env = cliEnv({}, join(dir, '.cache'));
    preset = await writeCliPreset(dir);
    await makeClip(join(dir, 'clip.mp4'), 1);
    // a clip with another picture size, to tell which file was read
    await run(FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=256x144:rate=30',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      join(dir, 'other.mp4'),
    ]);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = served.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
        res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${body.length}`, 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' });
        res.end(body.subarray(start, end + 1));
        return;
      }
      res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' });
      res.end(body);
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((res) => server?.close(res));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const transcode = (args: string[]): ReturnType<typeof cli> => cli(['transcode', '--hw', 'cpu', '-p', preset, ...args], { cwd: dir, env });

  describe('a local path is always a file', () => {
    it('files named -y, concat:a|b and http:x in the current folder are read as those files', async () => {
      // if `concat:a|b` were the concat protocol it would read a and b (other.mp4, 256x144)
      await copyFile(join(dir, 'other.mp4'), join(dir, 'a'));
      await copyFile(join(dir, 'other.mp4'), join(dir, 'b'));
      for (const name of ['-y', 'concat:a|b', 'http:x']) {
        await copyFile(join(dir, 'clip.mp4'), join(dir, name));
        const out = `o-${name.replace(/[^a-z]/g, '_')}`;
        const r = await transcode(['-o', out, '--', name]);
        expect(r.code, `${name}: ${r.stderr}`).toBe(0);
        // the 320x180 clip, not the 256x144 one: the top rung is 180p at the source's width
        const probed = await probeFile(join(dir, out, '180p', 'index.m3u8'));
        expect(probed.streams?.[0]).toMatchObject({ codec_type: 'video', width: 320, height: 180 });
      }
      expect(await stagingLeft(dir)).toEqual([]);
    });

    it('the ffmpeg command names the input as a file: URL of its absolute path', async () => {
      const r = await cli(['--json', 'transcode', '--hw', 'cpu', '--dry-run', '-p', preset, '--', 'concat:a|b'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      const command = parseEvents(r.stdout)[0]!['command'] as string[];
      const i = command.indexOf('-i');
      expect(command[i + 1]).toBe(`file:${join(dir, 'concat:a|b')}`);
      expect(command.slice(0, i)).toEqual(expect.arrayContaining(['-protocol_whitelist', 'file']));
    });
  });

  describe('remote inputs: explicit http(s) URLs only, confined to http(s)', () => {
    it('an http:// URL served by a local server is transcoded', async () => {
      served.set('/media/clip.mp4', await readFile(join(dir, 'clip.mp4')));
      requests.length = 0;
      const r = await transcode(['-o', 'o-remote', `${base}/media/clip.mp4`]);
      expect(r.code, r.stderr).toBe(0);
      expect(requests.filter((u) => u === '/media/clip.mp4').length).toBeGreaterThan(0);
      const probed = await probeFile(join(dir, 'o-remote', '180p', 'index.m3u8'));
      expect(probed.streams?.[0]).toMatchObject({ width: 320, height: 180 });
    });

    // Two playlists: ffmpeg 5.1.9 (Debian) itself refuses a playlist as soon as one segment has no
    // media extension (/etc/passwd), so the canary one names only a `.ts` file: there, streamkit's
    // protocol whitelist (http,https,tcp,tls,crypto: no `file`) is what stops it.
    it('a remote HLS playlist naming file:// segments cannot reach local files', async () => {
      const fifo = await canary(join(dir, 'remote-canary.ts'));
      served.set('/evil/canary.m3u8', Buffer.from(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${fifo.path}\n#EXT-X-ENDLIST\n`));
      served.set('/evil/passwd.m3u8', Buffer.from('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'));
      for (const list of ['canary', 'passwd']) {
        const r = await transcode(['-o', `o-remote-${list}`, `${base}/evil/${list}.m3u8`]);
        expect(r.code, r.stderr).toBe(3);
        expect(r.stdout + r.stderr).not.toMatch(/root:x:0:0/);
        expect(existsSync(join(dir, `o-remote-${list}`))).toBe(false);
      }
      expect(await fifo.wasRead()).toBe(false);
      expect(await stagingLeft(dir)).toEqual([]);
    });
  });

  describe('playlists and scripts that name local files are refused (exit 3), nothing they name is opened', () => {
    // each list names one local file: the canary (with a media extension, so that only streamkit's
    // checks stand in ffmpeg's way) or /etc/passwd
    const cases: [string, (target: string) => string][] = [
      ['evil.m3u8', (f) => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${f}\n#EXT-X-ENDLIST\n`],
      ['playlist-named.mp4', (f) => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${f}\n#EXT-X-ENDLIST\n`],
      ['list.ffconcat', (f) => `ffconcat version 1.0\nfile '${f}'\n`],
      ['concat-named.mp4', (f) => `ffconcat version 1.0\nfile '${f}'\n`],
      // no XML declaration: past the content check, stopped by ffprobe's demuxer whitelist
      [
        'manifest-named.mp4',
        (f) =>
          `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000" width="320" height="180"><BaseURL>file://${f}</BaseURL></Representation></AdaptationSet></Period></MPD>\n`,
      ],
    ];
    for (const [name, text] of cases) {
      it(name, async () => {
        const fifo = await canary(join(dir, `${name}.canary.mp4`));
        const escaped = name.replace('.', '\\.');
        const refused = new RegExp(
          `^error: (Refusing ${escaped}: it is a playlist or script that references other files, not media\\.|${escaped} is not a media file ffprobe can read\\.\\nffprobe said:\\n.*Format not on whitelist)`,
        );
        for (const [variant, target] of [
          ['canary', fifo.path],
          ['passwd', '/etc/passwd'],
        ] as const) {
          const file = `${variant}-${name}`;
          await writeFile(join(dir, file), text(target));
          const out = `o-${file}`;
          const r = await transcode(['-o', out, file]);
          expect(r.code, r.stderr).toBe(3);
          expect(r.stderr).toMatch(new RegExp(refused.source.replaceAll(escaped, `${variant}-${escaped}`)));
          expect(r.stdout + r.stderr).not.toMatch(/root:x:0:0/);
          expect(existsSync(join(dir, out))).toBe(false);
        }
        const p = await cli(['probe', `canary-${name}`], { cwd: dir, env });
        expect(p.code).toBe(3);
        expect(await fifo.wasRead()).toBe(false);
        expect(await stagingLeft(dir)).toEqual([]);
      });
    }

    it('the canary itself works: a real read is seen', async () => {
      const fifo = await canary(join(dir, 'control.fifo'));
      await run('head', ['-c', '1', fifo.path]);
      expect(await fifo.wasRead()).toBe(true);
    });
  });

  describe('presets are data', () => {
    const bad: [string, string, RegExp][] = [
      ['filter via options', 'options: { filter_complex: "movie=/etc/passwd" }', /video\.encoder\.cpu\.options\.filter_complex: streamkit sets "filter_complex" itself/],
      ['an extra input', 'options: { i: "/etc/passwd" }', /video\.encoder\.cpu\.options\.i: streamkit sets "i" itself/],
      ['a map', 'options: { map: "1:0" }', /video\.encoder\.cpu\.options\.map: streamkit sets "map" itself/],
      ['a stats file', 'options: { passlogfile: "/tmp/x" }', /video\.encoder\.cpu\.options\.passlogfile: expected one of the options allowed for libx264: /],
      ['x264-params', 'options: { x264-params: "keyint=999" }', /video\.encoder\.cpu\.options\.x264-params: streamkit sets "x264-params" itself/],
      ['GOP', 'options: { "-g": 999 }', /video\.encoder\.cpu\.options\.-g: streamkit sets "g" itself \(GOP from video\.keyframeInterval/],
      ['a tune smuggling parameters', 'tune: "film -i /etc/passwd"', /video\.encoder\.cpu\.tune: expected one of film, animation/],
      ['an unknown speed', 'preset: "ultrafast -f null"', /video\.encoder\.cpu\.preset: expected one of ultrafast, superfast/],
    ];
    for (const [what, yaml, message] of bad) {
      it(`refuses ${what} (exit 2, before anything runs)`, async () => {
        const file = join(dir, `bad-${what.replace(/\W+/g, '-')}.yaml`);
        await writeFile(file, `extends: h264-ladder\nvideo:\n  encoder:\n    cpu: { name: libx264, ${yaml} }\n`);
        const r = await cli(['transcode', '--hw', 'cpu', '-p', file, '-o', 'o-bad-preset', 'clip.mp4'], { cwd: dir, env });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(existsSync(join(dir, 'o-bad-preset'))).toBe(false);
        const v = await cli(['presets', 'validate', file], { cwd: dir, env });
        expect(v.code).toBe(2);
        expect(v.stderr).toMatch(message);
      });
    }

    it('allowed extra options reach the encoder (and only as option values)', async () => {
      const file = join(dir, 'ok-options.yaml');
      await writeFile(
        file,
        'extends: ./fast.yaml\nvideo:\n  encoder:\n    cpu: { name: libx264, preset: ultrafast, tune: zerolatency, options: { profile: baseline, refs: 2 } }\n',
      );
      const r = await cli(['--json', 'transcode', '--hw', 'cpu', '--dry-run', '-p', file, 'clip.mp4'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      const command = parseEvents(r.stdout)[0]!['command'] as string[];
      expect(command.join(' ')).toMatch(/-tune zerolatency .* -profile:v baseline -refs:v 2 /);
      expect(command.filter((a) => a === '-i')).toHaveLength(1);
    });
  });
});
