/** Library entry point: everything the CLI does is available from TypeScript. */
export { transcode, planTranscode, resolveToolchain, defaultOutput, type TranscodeOptions, type TranscodeResult, type PlannedTranscode, type Toolchain } from './transcode.js';
export { loadPreset, listBuiltinPresets, parsePresetObject, type ResolvedPreset } from './preset/load.js';
export { presetSchema, type Preset, type PresetInput } from './preset/schema.js';
export { probeMedia, type MediaInfo } from './media/probe.js';
export { buildLadder, type Ladder, type LadderRung } from './media/ladder.js';
export { buildTranscodeArgs } from './args/command.js';
export { encoderProfiles, type EncoderName, type EncoderProfile } from './encoder/profiles.js';
export { StreamkitError, PresetError, FfmpegError, ExitCode, type ErrorCode } from './errors.js';
export type { TranscodeEvent } from './events.js';
export { runBatch } from './batch/runner.js';
export { planBatch, defaultConcurrency, type BatchOptions, type BatchJob, type BatchPlan } from './batch/plan.js';
export type { BatchEvent, BatchEventSink, BatchJobResult, BatchSummary, JobStatus, JobError } from './batch/events.js';
export { DEFAULT_OUTPUT_TEMPLATE, expandTemplate } from './job/template.js';
export { loadJobsFile, parseJobs, type JobSpec } from './batch/jobs-file.js';
export { writeBatchReport, summaryMarkdown, summaryTable } from './batch/report.js';
export { push, planPush, type PushOptions, type PushResult, type PushEvent, type PlannedPush } from './push/push.js';
export { parsePublishUrl, redactor, type PublishTarget } from './push/url.js';
export type { WrittenFile } from './package/progressive.js';
