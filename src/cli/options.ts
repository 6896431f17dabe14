import { InvalidArgumentError, Option } from 'commander';

/** `--framerate` of raw elementary streams: a number or a fraction (25, 29.97, 30000/1001). */
function frameRateArg(v: string): string {
  if (!/^\d+(\.\d+)?(\/\d+)?$/.test(v)) throw new InvalidArgumentError('expected a frame rate such as 25, 29.97 or 30000/1001');
  return v;
}

/** `--framerate <fps>`, the same on every command that reads media. */
export function frameRateOption(): Option {
  return new Option('--framerate <fps>', 'frame rate of raw .h264/.hevc elementary-stream inputs').argParser(frameRateArg);
}

/** `--hw auto|cpu|nvenc`, the same on every command that encodes; `auto` is described per command. */
export function hwOption(auto = 'NVENC when a trial encode works, else CPU'): Option {
  return new Option('--hw <kind>', `hardware: auto (${auto}), cpu or nvenc`).choices(['auto', 'cpu', 'nvenc']).default('auto');
}
