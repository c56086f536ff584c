/**
 * Atomic file writes: write to a temporary file beside the target, then rename over it, so a
 * reader (or a crash mid-write) never sees a half-written file.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Writes `data` to `file` atomically, creating the parent folder if needed. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes a value as pretty-printed JSON, atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
