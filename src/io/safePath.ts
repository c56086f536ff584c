/**
 * Paths named inside a model directory (a model.json's weightsManifest, a shard index) must stay inside it: no
 * absolute path, no `..` segment, and no symbolic link that leads out of it once resolved. Every loader goes
 * through {@link resolveInside}, so a model directory from a stranger cannot make us read (or, in export-hf, copy
 * into a new checkpoint) any other file on disk.
 */
import { realpathSync } from 'fs';
import { isAbsolute, relative, resolve, sep } from 'path';
import { describe } from './describeValue';

/** Whether `child` is `parent` or lies below it (both absolute, normalized). */
function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The real path of `p`, or `p` itself when it does not exist (the caller reports a missing file). */
function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The absolute path of `rel`, a file named in `listedIn`, inside the directory `dir`.
 * @throws Error naming `listedIn` when `rel` is not a non-empty relative path without `..` segments, or when it
 *   (through a symbolic link) resolves outside `dir`.
 */
export function resolveInside(dir: string, rel: unknown, listedIn: string): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0')) {
    throw new Error(`${listedIn}: expected a weight file name inside ${dir}, got ${describe(rel)}`);
  }
  if (isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || rel.split(/[\\/]/).includes('..')) {
    throw new Error(`${listedIn}: weight file path ${describe(rel)} leaves the model directory (expected a name inside ${dir}, without ".." or a leading "/")`);
  }
  const base = resolve(dir);
  const path = resolve(base, rel);
  const realBase = realOrSelf(base);
  const real = realOrSelf(path);
  if (real !== path && !isWithin(realBase, real)) {
    throw new Error(`${listedIn}: weight file ${describe(rel)} is a symbolic link to ${real}, outside the model directory ${base}`);
  }
  return path;
}
