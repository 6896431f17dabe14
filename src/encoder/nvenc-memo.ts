import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';

/**
 * What decides whether ffmpeg's NVENC loader can dlopen() the NVIDIA driver's libcuda.so.1: the
 * dynamic linker's cache and search path (ld.so.cache, LD_LIBRARY_PATH, the library folders), and
 * the driver itself (its kernel module, its device nodes; WSL's /dev/dxg and driver folder). A
 * one-frame trial that failed with "Cannot load libcuda.so.1" (kind `no-driver`) fails the same way
 * until one of these changes: installing a driver runs ldconfig or adds files to a library folder
 * (both change an mtime here), a container started with the NVIDIA runtime has the device nodes.
 * Any change, even an unrelated package install, only makes the next job run the trial again.
 */
const DRIVER_PATHS = [
  '/proc/driver/nvidia/version',
  '/dev/nvidiactl',
  '/dev/nvidia0',
  '/dev/dxg',
  '/usr/lib/wsl/lib',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf.d',
  '/lib',
  '/lib64',
  '/usr/lib',
  '/usr/lib64',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/local/lib',
];

/** A short hash of everything above as it is now (names, mtimes, LD_LIBRARY_PATH). */
export function driverFingerprint(env: NodeJS.ProcessEnv = process.env): string {
  const parts = DRIVER_PATHS.map((p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    return st ? `${p}@${st.mtimeMs}` : `${p}:none`;
  });
  parts.push(`LD_LIBRARY_PATH=${env['LD_LIBRARY_PATH'] ?? ''}`);
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

/**
 * Whether a failed trial can be remembered here: on Linux, where the paths above decide it. Elsewhere
 * (Windows' nvcuda.dll, say) none of them exists, the fingerprint would never change, and a driver
 * installed later would go unnoticed: every process runs the trial.
 */
export function canRememberNoDriver(platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux';
}

/** The disk-cache fact (ffmpeg/capabilities.ts rememberBinaryFact) for `encoder`: one per binary and encoder, holding the fingerprint it was true for. */
export function noDriverFact(encoder: string): string {
  return `nvenc-no-driver|${encoder}`;
}
