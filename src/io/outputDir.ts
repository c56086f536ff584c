/**
 * Writing a whole output directory atomically: everything goes into a temporary directory beside the
 * target, which is renamed into place only when complete. A failure removes the temporary directory
 * (and any parent directories this call created) and leaves an existing target untouched.
 */
import { promises as fsp, realpathSync } from 'fs';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'path';

export interface OutputDirOptions {
  /** Replace a non-empty existing directory (default false: that is an error). */
  overwrite?: boolean;
}

/** The `code` of a Node.js system error (ENOENT, ...), if any. */
export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** 'missing', 'empty' (an empty directory), 'full' (a non-empty directory) or 'other' (not a directory). */
async function targetState(path: string): Promise<'missing' | 'empty' | 'full' | 'other'> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing';
    if (errnoCode(err) === 'ENOTDIR') return 'other';
    throw err;
  }
  if (!st.isDirectory()) return 'other';
  return (await fsp.readdir(path)).length === 0 ? 'empty' : 'full';
}

/** Throws unless `target` may be written: missing, an empty directory, or (with overwrite) a directory. */
async function checkTarget(target: string, overwrite: boolean): Promise<'missing' | 'empty' | 'full'> {
  const state = await targetState(target);
  if (state === 'other') throw new Error(`cannot write output directory ${target}: it (or a parent) exists and is not a directory`);
  if (state === 'full' && !overwrite) {
    throw new Error(`output directory ${target} already exists and is not empty (expected a new or empty directory; pass overwrite to replace it)`);
  }
  return state;
}

/** Removes `from` and its parents up to and including `top`, stopping at the first non-empty one. */
export async function removeEmptyDirs(from: string, top: string): Promise<void> {
  for (let d = from; d.length >= top.length; d = dirname(d)) {
    try {
      await fsp.rmdir(d);
    } catch {
      return;
    }
    if (d === top) return;
  }
}

/** A path with symbolic links resolved as far as it exists. */
function realish(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realish(parent), basename(abs));
  }
}

/**
 * Throws when the output directory is, or contains, the input path (replacing it would destroy the
 * input). An output inside the input directory is fine.
 */
export function checkOutputOutsideInput(input: string, output: string): void {
  const rel = relative(realish(output), realish(input));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new Error(`output directory ${output} is or contains the input ${input}; choose an output directory elsewhere`);
  }
}

/** Puts the finished temporary directory `tmp` at `target`, replacing what checkTarget allowed. */
async function moveIntoPlace(tmp: string, target: string, overwrite: boolean): Promise<void> {
  const state = await checkTarget(target, overwrite);
  if (state === 'missing') return fsp.rename(tmp, target);
  if (state === 'empty') {
    await fsp.rmdir(target);
    return fsp.rename(tmp, target);
  }
  const old = `${tmp}.old`;
  await fsp.rename(target, old);
  try {
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rename(old, target).catch(() => undefined);
    throw err;
  }
  await fsp.rm(old, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Calls `fill(tmpDir)` on a fresh temporary directory beside `target`, then renames it to `target`.
 * Missing parents of `target` are created. On any failure nothing is left behind and an existing
 * `target` is unchanged; the error names `target`.
 */
export async function writeDirectoryAtomically(
  target: string,
  fill: (tmpDir: string) => Promise<void>,
  options: OutputDirOptions = {},
): Promise<void> {
  const out = resolve(target);
  const overwrite = options.overwrite ?? false;
  await checkTarget(out, overwrite);
  const parent = dirname(out);
  let createdTop: string | undefined;
  try {
    createdTop = await fsp.mkdir(parent, { recursive: true });
  } catch (err) {
    throw new Error(`cannot write output directory ${out}: cannot create its parent ${parent} (${(err as Error).message})`);
  }
  let tmp: string | undefined;
  let filling = false;
  try {
    tmp = await fsp.mkdtemp(join(parent, `.${basename(out)}.tmp-`));
    await fsp.chmod(tmp, 0o755); // mkdtemp makes it owner-only; the final directory should not be
    filling = true;
    await fill(tmp);
    filling = false;
    await moveIntoPlace(tmp, out, overwrite);
  } catch (err) {
    if (tmp !== undefined) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (createdTop !== undefined) await removeEmptyDirs(parent, createdTop);
    if (filling) throw err; // the content's own error (bad input, ...): it names what is wrong
    const msg = (err as Error).message;
    throw new Error(msg.includes(out) ? msg : `cannot write output directory ${out}: ${msg}`, { cause: err });
  }
}
