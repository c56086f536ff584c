/**
 * File I/O every reader and writer of src/io shares: the chunk size, reading and writing a byte range fully, and
 * writing a file atomically (a temporary file beside the target, synced, then renamed over it, so a reader or a
 * crash mid-write never sees a half-written file). Directory-level atomic writes are in ./outputDir.ts.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { promises as fsp, constants as fsConstants } from 'fs';
import { basename, dirname, join } from 'path';

/** Bytes per read or write call (and per decoded chunk): bounds the transient memory of every reader and writer. */
export const CHUNK_BYTES = 64 * 1024 * 1024;

/** Fills `target` from the file at `position`, in chunks, failing with `source` named if the file ends early. */
export async function readFully(fh: fsp.FileHandle, target: Uint8Array, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(target.length - done, CHUNK_BYTES);
    const { bytesRead } = await fh.read(target, done, want, position + done);
    if (bytesRead === 0) {
      throw new Error(`${source}: unexpected end of file at byte ${position + done} (wanted ${target.length - done} more bytes; was the file truncated?)`);
    }
    done += bytesRead;
  }
}

/** Writes all of `bytes` at `position`, in chunks. */
export async function writeFully(fh: fsp.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(CHUNK_BYTES, bytes.length - done), position + done);
    done += bytesWritten;
  }
}

/** A fresh temporary path beside `target` (same directory, so the final rename is atomic). */
export function tempPathBeside(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.${tag}`);
}

/**
 * Runs `fill` on a new temporary file beside `target`, then syncs and renames it to `target`.
 * On any failure the temporary file is removed and `target` is untouched.
 */
export async function writeAtomically(target: string, fill: (fh: fsp.FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempPathBeside(target, 'tmp');
  let fh: fsp.FileHandle | null = null;
  try {
    fh = await fsp.open(tmp, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
    await fill(fh);
    await fh.sync();
    await fh.close();
    fh = null;
    await fsp.rename(tmp, target);
  } catch (err) {
    if (fh !== null) await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Writes `data` to `file` atomically (synchronously), creating the parent folder if needed. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(dirname(file), { recursive: true });
  const tmp = tempPathBeside(file, 'tmp');
  try {
    const fd = fs.openSync(tmp, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes a value as pretty-printed JSON, atomically. */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value, null, 2) + '\n');
}
