/**
 * The training output directory (`--out`), checked and locked before the first step: it must be (or become) a
 * writable directory outside /proc, /sys and /dev; one training at a time holds it through a lock file naming its
 * pid (a lock of a dead process is taken over); leftovers of interrupted saves are cleaned, and a checkpoint
 * staged completely before a kill is moved into place (see ./trainCheckpoint.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ioReason } from '../io/regularFile';

/** The lock file inside `--out`. */
export const LOCK_FILE = '.train.lock';

/** Directory trees whose files are not files: writing a checkpoint there hangs or fails strangely. */
const PSEUDO_FS = ['/proc', '/sys', '/dev'];

/** `p` with symbolic links resolved as far as it exists. */
function realish(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realish(parent), path.basename(p));
  }
}

/** Whether process `pid` is alive (EPERM: alive, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file of `dir` or throws naming the process that holds it. */
function takeLock(dir: string): string {
  const lock = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`--out ${dir}: cannot write in it (${ioReason(e)})`);
    }
    const pid = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`--out ${dir} is in use by another training (pid ${pid}, lock file ${lock}); wait for it or choose another --out`);
    }
    fs.rmSync(lock, { force: true }); // stale: its process is gone
  }
  throw new Error(`--out ${dir}: cannot take the lock file ${lock}`);
}

/** Leftovers of interrupted saves: temporary files and directories of the file:// handler and of checkpoints. */
export function isSaveLeftover(name: string): boolean {
  return /^\.save\.tmp-/.test(name) || /^\.ckpt-staging\.tmp-/.test(name) || /^\..+\.tmp(-\w+)?$/.test(name) || /^\..+\.\d+\.[0-9a-f]+\.tmp$/.test(name);
}

/** Removes the leftovers of interrupted saves from `dir`; returns their names. */
export function cleanLeftovers(dir: string): string[] {
  const gone = fs.readdirSync(dir).filter(isSaveLeftover);
  for (const name of gone) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  return gone;
}

/**
 * Checks `--out` before the first step, creates it, takes its lock and cleans leftovers.
 * @returns a function releasing the lock (also released when the process exits)
 */
export function claimOutDir(out: string): () => void {
  const dir = path.resolve(out);
  const real = realish(dir);
  const pseudo = PSEUDO_FS.find((p) => real === p || real.startsWith(`${p}/`));
  if (pseudo) throw new Error(`--out ${out}: expected a directory on a real file system, got a path under ${pseudo}`);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`--out ${out}: cannot use it (${ioReason(e)})`);
  }
  if (st && !st.isDirectory()) throw new Error(`--out ${out} exists and is not a directory (expected a checkpoint folder)`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`--out ${out}: cannot create the directory (${ioReason(e)})`);
  }
  const lock = takeLock(dir);
  const release = (): void => {
    try {
      if (fs.readFileSync(lock, 'utf8').trim() === String(process.pid)) fs.rmSync(lock, { force: true });
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  cleanLeftovers(dir);
  return () => {
    process.off('exit', release);
    release();
  };
}
