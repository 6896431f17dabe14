import { describe, expect, it } from 'vitest';
import { cpuFloor, expertCommand, expertGraph, floorCommands, naiveCommands, parseCommand } from '../../bench/lib/commands.js';

// The shape of `streamkit transcode --dry-run --json` commands (h264, 3 rungs, one audio rendition).
const OUT = '/w/out';
function hls(dir: string): string[] {
  return ['-map_metadata', '-1', '-map_chapters', '-1', '-f', 'hls', '-hls_time', '5.979167', '-hls_playlist_type', 'vod', '-hls_list_size', '0', '-hls_segment_type', 'mpegts', '-hls_flags', 'independent_segments+temp_file', '-hls_segment_filename', `${OUT}/${dir}/seg_%05d.ts`, `${OUT}/${dir}/index.m3u8`];
}
const x264 = (b: string): string[] => ['-c:v', 'libx264', '-preset', 'medium', '-b:v', b, '-maxrate', '1k', '-bufsize', '2k', '-g', '48', '-keyint_min', '48', '-sc_threshold', '0', '-x264-params', 'open-gop=0'];
const command = [
  '/usr/bin/ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'warning', '-y', '-protocol_whitelist', 'file', '-i', 'file:/w/in.mp4',
  '-filter_complex', '[0:0]fps=24,setsar=1,split=2[v0][c0];[c0]scale=1280:720,setsar=1,split=2[v1][c1];[c1]scale=640:360,setsar=1[v2]',
  '-map', '[v0]', ...x264('7800k'), ...hls('1080p'),
  '-map', '[v1]', ...x264('4500k'), ...hls('720p'),
  '-map', '[v2]', ...x264('365k'), ...hls('360p'),
  '-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000', ...hls('audio-1'),
];
const rungs = [{ width: 1920, height: 1080 }, { width: 1280, height: 720 }, { width: 640, height: 360 }];

describe('benchmark contenders derived from the streamkit command', () => {
  const parsed = parseCommand(command);

  it('parses outputs, source pad, frame rate', () => {
    expect(parsed.videoOutputs.map((o) => o.label)).toEqual(['[v0]', '[v1]', '[v2]']);
    expect(parsed.audioOutputs.map((o) => o.map)).toEqual(['0:a:0']);
    expect(parsed.source).toBe('0:0');
    expect(parsed.fps).toBe('24');
    expect(parsed.format).toBeNull();
  });

  it('expert: split from the source, same encoder flags, audio in every rung, paths moved', () => {
    const { argv, dirs } = expertCommand(parsed, rungs, OUT, '/w/expert');
    const graph = argv[argv.indexOf('-filter_complex') + 1];
    expect(graph).toBe('[0:0]fps=24,split=3[s0][s1][s2];[s0]scale=1920:1080,setsar=1[v0];[s1]scale=1280:720,setsar=1[v1];[s2]scale=640:360,setsar=1[v2]');
    expect(argv.filter((a) => a === 'libx264')).toHaveLength(3);
    expect(argv.filter((a) => a === 'aac')).toHaveLength(3);
    expect(argv.join(' ')).not.toContain(OUT);
    expect(argv).toContain('/w/expert/720p/index.m3u8');
    expect(dirs).toEqual(['/w/expert/1080p', '/w/expert/720p', '/w/expert/360p']);
    // every encoder option of streamkit's first rung, in order
    const i = argv.indexOf('[v0]');
    expect(argv.slice(i + 1, i + 1 + x264('7800k').length)).toEqual(x264('7800k'));
  });

  it('expert, audio once: streamkit\'s separate audio output kept', () => {
    const { argv, dirs } = expertCommand(parsed, rungs, OUT, '/w/e1', { audio: 'once' });
    expect(argv.filter((a) => a === 'aac')).toHaveLength(1);
    expect(dirs).toContain('/w/e1/audio-1');
  });

  it('naive: one process per rung, each decoding and scaling the source', () => {
    const runs = naiveCommands(parsed, rungs, OUT, '/w/naive');
    expect(runs).toHaveLength(3);
    const second = runs[1]!.argv;
    expect(second.filter((a) => a === '-i')).toHaveLength(1);
    expect(second[second.indexOf('-vf') + 1]).toBe('fps=24,scale=1280:720,setsar=1');
    expect(second.slice(second.indexOf('-map') + 1, second.indexOf('-map') + 2)).toEqual(['0:0']);
    expect(second).toContain('4500k');
    expect(second).not.toContain('-filter_complex');
    expect(second.filter((a) => a === 'aac')).toHaveLength(1);
    expect(runs.map((r) => r.dir)).toEqual(['/w/naive/1080p', '/w/naive/720p', '/w/naive/360p']);
  });

  it('relative HLS paths (streamkit runs ffmpeg in its output folder): kept relative, folders under the contender\'s', () => {
    const relative = command.map((a) => (a.startsWith(`${OUT}/`) ? a.slice(OUT.length + 1) : a));
    const p = parseCommand(relative);
    const { argv, dirs } = expertCommand(p, rungs, OUT, '/w/expert');
    expect(argv).toContain('720p/index.m3u8');
    expect(argv).toContain('720p/seg_%05d.ts');
    expect(dirs).toEqual(['/w/expert/1080p', '/w/expert/720p', '/w/expert/360p']);
    expect(naiveCommands(p, rungs, OUT, '/w/naive').map((r) => r.dir)).toEqual(['/w/naive/1080p', '/w/naive/720p', '/w/naive/360p']);
  });

  it('floor: decode alone, the expert graph into null outputs, the audio encoded once; nothing written', () => {
    const f = floorCommands(parsed, rungs);
    expect(f.decode.slice(-5)).toEqual(['-map', '0:0', '-f', 'null', '-']);
    expect(f.decode).not.toContain('-filter_complex');
    expect(f.graph[f.graph.indexOf('-filter_complex') + 1]).toBe(expertGraph(parsed, rungs));
    expect(f.graph.filter((a) => a === 'null')).toHaveLength(3);
    expect(f.graph.filter((a) => /^\[v\d\]$/.test(a))).toEqual(['[v0]', '[v1]', '[v2]']);
    expect(f.audio).toEqual([...f.decode.slice(0, f.decode.indexOf('-map')), '-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000', '-f', 'null', '-']);
    expect(f.audioCopy!.slice(f.audioCopy!.indexOf('-map'))).toEqual(['-map', '0:a:0', '-c:a', 'copy', '-f', 'null', '-']);
    for (const a of [f.decode, f.graph, f.audio!, f.audioCopy!]) {
      expect(a).toContain('file:/w/in.mp4');
      expect(a.some((x) => x.includes('libx264') || x.endsWith('.m3u8'))).toBe(false);
    }
    expect(floorCommands({ ...parsed, audioOutputs: [] }, rungs)).toMatchObject({ audio: null, audioCopy: null });
  });

  it('floor: only the graph beyond one decode and the audio encodes beyond one count as avoidable', () => {
    // audio encode = 0.3 s with it, 0.1 s copying the same stream (start-up, demuxing)
    const f = cpuFloor({ expertCpu: 60, decodeCpu: 2, graphCpu: 3.5, audioCpu: 0.3, audioCopyCpu: 0.1, expertAudioEncodes: 4 });
    expect(f.avoidable).toBeCloseTo(1.5 + 3 * 0.2, 9);
    expect(f.seconds).toBeCloseTo(60 - 2.1, 9);
    expect(f.audioEncode).toBeCloseTo(0.2, 9);
    expect(cpuFloor({ expertCpu: 60, decodeCpu: 2, graphCpu: 3.5, audioCpu: null, audioCopyCpu: null, expertAudioEncodes: 0 }).avoidable).toBe(1.5);
    // parts measured cheaper than what they contain (noise) save nothing, they do not add
    expect(cpuFloor({ expertCpu: 60, decodeCpu: 2.1, graphCpu: 2, audioCpu: 0.1, audioCopyCpu: 0.12, expertAudioEncodes: 4 })).toEqual({ seconds: 60, avoidable: 0, audioEncode: 0 });
  });

  it('refuses commands it does not understand', () => {
    expect(() => parseCommand(['ffmpeg', '-i', 'x'])).toThrow(/filter_complex/);
  });
});
