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

/**
 * `--per-title` / `--no-per-title`: the per-title ladder on or off for this run (absent: the preset's
 * video.perTitle decides). Commander leaves the value undefined when neither is given.
 */
export function perTitleOptions(): Option[] {
  return [
    new Option('--per-title', 'per-title ladder: analyse samples of the title with VMAF and encode only the rungs it needs (docs/per-title.md)'),
    new Option('--no-per-title', "the preset's fixed ladder even where the preset asks for a per-title one"),
  ];
}

/** `--vmaf <path>`: libvmaf's `vmaf` tool for the per-title analysis. */
export function vmafOption(): Option {
  return new Option('--vmaf <path>', "libvmaf's `vmaf` tool for --per-title (else STREAMKIT_VMAF, else ffmpeg's libvmaf filter, else `vmaf` on PATH, else SSIM)");
}
