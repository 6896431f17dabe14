/**
 * Test presets: files that `extends` a built-in ladder with the fastest encoder speed and small
 * rungs, so a package takes seconds.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Codec = 'h264' | 'hevc' | 'av1';

export interface FastPresetSpec {
  codec: Codec;
  /** rung heights, tallest first (keep them <= the source) */
  rungs?: number[];
  segmentDuration?: number;
  /** packaging.hls.firstSegmentDuration (default: one keyframe interval) */
  firstSegmentDuration?: number;
  keyframeInterval?: number;
  /** packaging.hls.container (default: the built-in ladder's: ts for H.264, fmp4 for HEVC/AV1) */
  container?: 'ts' | 'fmp4';
  /** packaging.hls.layout (default: segments) */
  layout?: 'segments' | 'single-file';
  maxFrameRate?: number;
  /** extra YAML lines appended to the preset */
  extraYaml?: string;
  /** encoder options (allowlisted per encoder) */
  options?: Record<string, string | number>;
}

const fastEncoder: Record<Codec, string> = {
  h264: '{ name: libx264, preset: ultrafast',
  hevc: '{ name: libx265, preset: ultrafast',
  av1: '{ name: libsvtav1, preset: 12',
};

/** `DIR/NAME.yaml`, preset `NAME`: the built-in ladder of `codec` with the fastest speed and small rungs. */
export async function writeFastPreset(dir: string, name: string, spec: FastPresetSpec): Promise<string> {
  const rungs = spec.rungs ?? [180, 120];
  const bitrate = (h: number): string => `${Math.round((h * h * 16) / 9 / 180)}k`;
  const options = spec.options
    ? `, options: { ${Object.entries(spec.options)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join(', ')} }`
    : '';
  const yaml = [
    `extends: ${spec.codec}-ladder`,
    `name: ${name}`,
    'video:',
    '  encoder:',
    `    cpu: ${fastEncoder[spec.codec]}${options} }`,
    `  keyframeInterval: ${spec.keyframeInterval ?? 1}`,
    ...(spec.maxFrameRate ? [`  maxFrameRate: ${spec.maxFrameRate}`] : []),
    '  rungs:',
    ...rungs.map((h) => `    - { name: ${h}p, height: ${h}, bitrate: ${bitrate(h)} }`),
    'packaging:',
    `  hls: { segmentDuration: ${spec.segmentDuration ?? 2}${spec.firstSegmentDuration ? `, firstSegmentDuration: ${spec.firstSegmentDuration}` : ''}${spec.container ? `, container: ${spec.container}` : ''}${spec.layout ? `, layout: ${spec.layout}` : ''} }`,
    spec.extraYaml ?? '',
  ].join('\n');
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml);
  return file;
}

/**
 * The one preset the test/integration/cli-*.test.ts files assert on: `DIR/FILE`, preset
 * `test-SPEED`, libx264 at `speed`, rungs 180p at 300k and 144p at 150k, 1 s keyframes, 2 s MPEG-TS
 * segments. Its name, rungs and bitrates appear in their expected output, hence its own writer.
 */
export async function writeCliPreset(dir: string, file = 'fast.yaml', speed = 'ultrafast'): Promise<string> {
  const path = join(dir, file);
  await writeFile(
    path,
    [
      'extends: h264-ladder',
      `name: test-${speed}`,
      'video:',
      '  encoder:',
      `    cpu: { name: libx264, preset: ${speed} }`,
      '  keyframeInterval: 1',
      '  rungs:',
      '    - { name: 180p, height: 180, bitrate: 300k }',
      '    - { name: 144p, height: 144, bitrate: 150k }',
      'packaging:',
      '  hls: { segmentDuration: 2, container: ts }',
      '',
    ].join('\n'),
  );
  return path;
}
