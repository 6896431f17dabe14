// Worker defaults, in a module of their own so that the CLI can show them in --help without loading
// bullmq (the worker module imports it).
export const DEFAULT_LOCK_DURATION_MS = 60_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
export const DEFAULT_GRACE_MS = 10_000;
