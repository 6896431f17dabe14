import { PresetError } from '../errors.js';
import type { ResolvedPreset } from '../preset/load.js';
import type { HardwareKind, Preset } from '../preset/schema.js';
import { encoderProfiles, encoderTunes, isEncoderName, type EncoderName } from './profiles.js';
import type { HardwareChoice } from './select.js';

type Issue = { file: string; path: string; message: string };

/** Checks that need the real encoder: speed preset, rate control mode, extra options. */
export function checkPresetForEncoder(preset: Preset, file: string, hardware: HardwareKind, encoder: EncoderName): void {
  const profile = encoderProfiles[encoder];
  const choice = preset.video.encoder[hardware]!;
  const base = `video.encoder.${hardware}`;
  const issues: Issue[] = [];
  if (profile.codec !== preset.video.codec) issues.push({ file, path: `${base}.name`, message: `expected a ${preset.video.codec} encoder, got ${encoder} (${profile.codec})` });
  if (choice.preset !== undefined && !profile.speedPresets.includes(String(choice.preset))) {
    issues.push({ file, path: `${base}.preset`, message: `expected one of ${profile.speedPresets.join(', ')} for ${encoder}, got ${JSON.stringify(choice.preset)}` });
  }
  if (choice.tune !== undefined && !encoderTunes[encoder].includes(choice.tune)) {
    issues.push({ file, path: `${base}.tune`, message: `expected one of ${encoderTunes[encoder].join(', ')} for ${encoder}, got ${JSON.stringify(choice.tune)}` });
  }
  const mode = preset.video.rateControl.mode;
  if (!profile.rateControlModes.includes(mode)) {
    issues.push({ file, path: 'video.rateControl.mode', message: `expected one of ${profile.rateControlModes.join(', ')} for ${encoder}, got ${mode}` });
  }
  const [lo, hi] = profile.crfRange;
  const crfs = [preset.video.rateControl.crf, ...preset.video.rungs.map((r) => r.crf)];
  crfs.forEach((c, i) => {
    if (c !== undefined && (c < lo || c > hi))
      issues.push({ file, path: i === 0 ? 'video.rateControl.crf' : `video.rungs[${i - 1}].crf`, message: `expected ${lo}..${hi} for ${encoder}, got ${c}` });
  });
  for (const key of Object.keys(choice.options ?? {})) {
    const k = key.replace(/^-/, '');
    if (profile.ownedOptions.includes(k)) {
      issues.push({
        file,
        path: `${base}.options.${key}`,
        message: `streamkit sets "${k}" itself (GOP from video.keyframeInterval, rate control from video.rateControl and rungs, maps and filters from the ladder); remove it`,
      });
    } else if (!profile.allowedOptions.includes(k)) {
      issues.push({ file, path: `${base}.options.${key}`, message: `expected one of the options allowed for ${encoder}: ${profile.allowedOptions.join(', ')}` });
    }
  }
  if (issues.length > 0) throw new PresetError(issues);
}

/**
 * Every encoder-dependent check for every encoder the preset names (cpu and nvenc), without ffmpeg:
 * what `presets validate` runs. Unknown encoder names are reported too.
 */
export function checkPresetEncoders(preset: Preset, file: string): void {
  const issues: Issue[] = [];
  for (const hardware of ['cpu', 'nvenc'] as const) {
    const choice = preset.video.encoder[hardware];
    if (!choice) continue;
    if (!isEncoderName(choice.name)) {
      issues.push({
        file,
        path: `video.encoder.${hardware}.name`,
        message: `expected one of the encoders streamkit knows: ${Object.keys(encoderProfiles).join(', ')}; got ${choice.name}`,
      });
      continue;
    }
    if (encoderProfiles[choice.name].hardware !== hardware) {
      issues.push({ file, path: `video.encoder.${hardware}.name`, message: `expected a ${hardware} encoder, got ${choice.name} (${encoderProfiles[choice.name].hardware})` });
      continue;
    }
    try {
      checkPresetForEncoder(preset, file, hardware, choice.name);
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
