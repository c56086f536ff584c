/**
 * Reading files named by the user or by a model directory: regular files only (a FIFO, /dev/zero or a
 * directory is refused before anything is read, checked with fstat on the opened descriptor), JSON capped in
 * size, and every failure one line naming the file and what was expected.
 */
import * as fs from 'fs';

/** Largest JSON file (config.json, model.json, train-state.json, index) read: far above any real one. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** A short reason for a Node.js system error (EISDIR, ENOENT, EACCES, ELOOP, ...). */
export function ioReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const known: Record<string, string> = {
    ENOENT: 'it does not exist',
    EISDIR: 'it is a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ELOOP: 'a loop of symbolic links',
    ENOTDIR: 'a parent is not a directory',
    ENOSPC: 'no space left on the device',
    EMFILE: 'too many open files',
  };
  return (code && known[code]) ?? (err as Error)?.message ?? String(err);
}

/**
 * The bytes of the regular file `file`, at most `maxBytes` of them.
 * @param what what the file should be, for messages ("a config.json", "a text file for --data")
 */
export function readRegularFileSync(file: string, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new Error(`${file}: expected ${what}, but ${ioReason(err)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new Error(`${file}: expected ${what} (a regular file), got a directory`);
    if (!st.isFile()) throw new Error(`${file}: expected ${what} (a regular file), got a ${kindOf(st)}`);
    if (st.size > maxBytes) throw new Error(`${file}: expected ${what} of at most ${maxBytes} bytes, got ${st.size}`);
    const buf = Buffer.allocUnsafe(st.size);
    let done = 0;
    while (done < st.size) {
      const n = fs.readSync(fd, buf, done, Math.min(st.size - done, 64 * 1024 * 1024), done);
      if (n === 0) break;
      done += n;
    }
    return done === st.size ? buf : buf.subarray(0, done);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(file)) throw err;
    throw new Error(`${file}: cannot read ${what}: ${ioReason(err)}`);
  } finally {
    fs.closeSync(fd);
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
}

/** The parsed JSON of the regular file `file` (at most {@link MAX_JSON_BYTES}); errors name the file. */
export function readJsonFileSync(file: string, what: string, maxBytes = MAX_JSON_BYTES): unknown {
  const text = readRegularFileSync(file, what, maxBytes).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = text.trim() === '' ? 'the file is empty' : (err as Error).message;
    throw new Error(`${file}: expected ${what} (JSON), got a parse error: ${reason}`);
  }
}

/**
 * Throws one line naming `dir` unless it is a directory whose entries can be listed: a missing path, a file,
 * a symbolic link loop or a directory without read permission are each said as such (not as "found none").
 */
export function checkDirectory(dir: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    throw new Error(`expected ${what}, got ${dir} (${code === 'ENOENT' ? 'missing' : ioReason(err)})`);
  }
  if (!st.isDirectory()) throw new Error(`expected ${what}, got ${dir} (not a directory)`);
  try {
    fs.readdirSync(dir);
  } catch (err) {
    throw new Error(`expected ${what}, got ${dir} (its files cannot be listed: ${ioReason(err)})`);
  }
}
