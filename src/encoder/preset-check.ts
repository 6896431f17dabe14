import { PresetError } from '../errors.js';
import type { ResolvedPreset } from '../preset/load.js';
import { videoLadders, type HardwareKind, type Preset } from '../preset/schema.js';
import { encoderProfiles, encoderTunes, isEncoderName, type EncoderName } from './profiles.js';
import type { HardwareChoice } from './select.js';

type Issue = { file: string; path: string; message: string };

/** Where ladder `k`'s keys are in the preset file: `video` (one ladder) or `video[k]` (a list). */
function ladderPath(preset: Preset, k: number): string {
  return videoLadders(preset).length > 1 ? `video[${k}]` : 'video';
}

/**
 * Checks that need the real encoder: speed preset, rate control mode, extra options. `encoder` is the
 * first ladder's; in a multi-codec preset every other ladder is checked against its own encoder for
 * `hardware` (which must be one streamkit knows).
 */
export function checkPresetForEncoder(preset: Preset, file: string, hardware: HardwareKind, encoder: EncoderName): void {
  const issues: Issue[] = [];
  videoLadders(preset).forEach((ladder, k) => {
    const at = ladderPath(preset, k);
    const base = `${at}.encoder.${hardware}`;
    const choice = ladder.encoder[hardware];
    if (!choice) {
      issues.push({ file, path: base, message: `expected a ${hardware} encoder in every ladder (the others have one), got none` });
      return;
    }
    const name = k === 0 ? encoder : choice.name;
    if (!isEncoderName(name)) {
      issues.push({ file, path: `${base}.name`, message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${name}` });
      return;
    }
    const profile = encoderProfiles[name];
    if (profile.codec !== ladder.codec) issues.push({ file, path: `${base}.name`, message: `expected a ${ladder.codec} encoder, got ${name} (${profile.codec})` });
    if (choice.preset !== undefined && !profile.speedPresets.includes(String(choice.preset))) {
      issues.push({ file, path: `${base}.preset`, message: `expected one of ${profile.speedPresets.join(', ')} for ${name}, got ${JSON.stringify(choice.preset)}` });
    }
    if (choice.tune !== undefined && !encoderTunes[name].includes(choice.tune)) {
      issues.push({ file, path: `${base}.tune`, message: `expected one of ${encoderTunes[name].join(', ')} for ${name}, got ${JSON.stringify(choice.tune)}` });
    }
    const mode = ladder.rateControl.mode;
    if (!profile.rateControlModes.includes(mode)) {
      issues.push({ file, path: `${at}.rateControl.mode`, message: `expected one of ${profile.rateControlModes.join(', ')} for ${name}, got ${mode}` });
    }
    ladder.rungs.forEach((r, i) => {
      if (r.mode !== undefined && !profile.rateControlModes.includes(r.mode))
        issues.push({ file, path: `${at}.rungs[${i}].mode`, message: `expected one of ${profile.rateControlModes.join(', ')} for ${name}, got ${r.mode}` });
    });
    const [lo, hi] = profile.crfRange;
    const crfs = [ladder.rateControl.crf, ...ladder.rungs.map((r) => r.crf)];
    crfs.forEach((c, i) => {
      if (c !== undefined && (c < lo || c > hi))
        issues.push({ file, path: i === 0 ? `${at}.rateControl.crf` : `${at}.rungs[${i - 1}].crf`, message: `expected ${lo}..${hi} for ${name}, got ${c}` });
    });
    for (const key of Object.keys(choice.options ?? {})) {
      const o = key.replace(/^-/, '');
      if (profile.ownedOptions.includes(o)) {
        issues.push({
          file,
          path: `${base}.options.${key}`,
          message: `streamkit sets "${o}" itself (GOP from video.keyframeInterval, rate control from video.rateControl and rungs, maps and filters from the ladder); remove it`,
        });
      } else if (!profile.allowedOptions.includes(o)) {
        issues.push({ file, path: `${base}.options.${key}`, message: `expected one of the options allowed for ${name}: ${profile.allowedOptions.join(', ')}` });
      }
    }
  });
  if (issues.length > 0) throw new PresetError(issues);
}

/**
 * Every encoder-dependent check for every encoder the preset names (cpu and nvenc), without ffmpeg:
 * what `presets validate` runs. Unknown encoder names are reported too.
 */
export function checkPresetEncoders(preset: Preset, file: string): void {
  const issues: Issue[] = [];
  for (const hardware of ['cpu', 'nvenc'] as const) {
    const named = videoLadders(preset).map((l, k) => ({ choice: l.encoder[hardware], path: `${ladderPath(preset, k)}.encoder.${hardware}.name` }));
    if (named.every((n) => !n.choice)) continue;
    const bad = named.flatMap(({ choice, path }): Issue[] => {
      if (!choice) return [];
      if (!isEncoderName(choice.name))
        return [{ file, path, message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${choice.name}` }];
      if (encoderProfiles[choice.name].hardware !== hardware)
        return [{ file, path, message: `expected a ${hardware} encoder, got ${choice.name} (${encoderProfiles[choice.name].hardware})` }];
      return [];
    });
    issues.push(...bad);
    const first = named[0]!.choice;
    if (bad.length > 0 || !first || !isEncoderName(first.name)) {
      if (bad.length === 0)
        issues.push({ file, path: named[0]!.path.replace(/\.name$/, ''), message: `expected a ${hardware} encoder in every ladder (the others have one), got none` });
      continue;
    }
    try {
      checkPresetForEncoder(preset, file, hardware, first.name);
    } catch (error) {
      if (error instanceof PresetError) issues.push(...error.issues);
      else throw error;
    }
  }
  if (issues.length > 0) throw new PresetError(issues, { hint: 'Fix the preset file; `streamkit presets validate FILE` checks one without encoding.' });
}

/** A hardware choice whose encoder streamkit knows, checked against the preset's settings for it. */
export type CheckedHardware = HardwareChoice & { encoder: EncoderName };

/** The chosen encoder must be one streamkit knows and the preset's settings must suit it (PresetError otherwise). */
export function checkedHardware(preset: ResolvedPreset, hardware: HardwareChoice): CheckedHardware {
  if (!isEncoderName(hardware.encoder)) {
    throw new PresetError([
      {
        file: preset.file,
        path: `video.encoder.${hardware.hardware}.name`,
        message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${hardware.encoder}`,
      },
    ]);
  }
  checkPresetForEncoder(preset.preset, preset.file, hardware.hardware, hardware.encoder);
  return hardware as CheckedHardware;
}
