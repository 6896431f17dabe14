// Types for the benchmark's argv helpers (plain JS in commands.js), used by test/unit/bench-commands.test.ts.
export interface OutputSpec {
  opts: string[];
  path: string;
}
export interface ParsedCommand {
  ffmpeg: string;
  inputPart: string[];
  graph: string;
  source: string;
  fps: string;
  format: string | null;
  videoOutputs: (OutputSpec & { label: string })[];
  audioOutputs: (OutputSpec & { map: string })[];
}
export interface RungSize {
  width: number;
  height: number;
}
export function parseCommand(command: readonly string[]): ParsedCommand;
export function expertGraph(parsed: ParsedCommand, rungs: readonly RungSize[]): string;
export function expertCommand(parsed: ParsedCommand, rungs: readonly RungSize[], fromDir: string, toDir: string, options?: { audio?: 'per-rung' | 'once' }): { argv: string[]; dirs: string[] };
export function naiveCommands(parsed: ParsedCommand, rungs: readonly RungSize[], fromDir: string, toDir: string): { argv: string[]; dir: string }[];
export function floorCommands(parsed: ParsedCommand, rungs: readonly RungSize[]): { decode: string[]; graph: string[]; audio: string[] | null; audioCopy: string[] | null };
export function cpuFloor(m: { expertCpu: number; decodeCpu: number; graphCpu: number; audioCpu: number | null; audioCopyCpu: number | null; expertAudioEncodes: number }): { seconds: number; avoidable: number; audioEncode: number };
