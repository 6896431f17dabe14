import { fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Read up to `length` bytes at `position` into the start of `buf`; fewer only at the end of the file. */
async function readFully(handle: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Bytes [start, end) of a file (`end` null: to its end), without reading the rest of it. */
export async function readFileRange(path: string, start: number, end: number | null): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const stop = end ?? (await handle.stat()).size;
    const buf = Buffer.alloc(Math.max(0, stop - start));
    return buf.subarray(0, await readFully(handle, buf, buf.length, start));
  } finally {
    await handle.close();
  }
}

/** A file's bytes as read, with the size and modification time it had then (see segment-facts.ts). */
export interface FileRead {
  buf: Buffer;
  mtimeMs: number;
}

/**
 * Reads whole files into one buffer that is reused from file to file (grown when a file is larger).
 * Packaging reads every segment of every rung once; a fresh buffer per segment leaves megabytes of
 * garbage per 1080p segment that the GC frees late, so the Node process's peak memory followed the
 * number and size of segments. The returned view is valid until the next read. It holds the bytes
 * the file had when it was opened: a writer appending meanwhile is not followed.
 */
export function reusableFileReader(): (path: string) => Promise<FileRead> {
  let buf = Buffer.alloc(0);
  return async (path) => {
    const handle = await open(path, 'r');
    try {
      // one system call on the open descriptor: the asynchronous stat cost ~110 us more CPU per
      // file (thread-pool hand-off), and every segment of a package comes through here
      const st = fstatSync(handle.fd);
      if (st.size > buf.length) buf = Buffer.allocUnsafe(Math.max(st.size, Math.ceil(buf.length * 1.25)));
      return { buf: buf.subarray(0, await readFully(handle, buf, st.size, 0)), mtimeMs: st.mtimeMs };
    } finally {
      await handle.close();
    }
  };
}
