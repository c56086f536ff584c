/**
 * Reading a tfjs model directory's weight files (the load half of ./fsHandler.ts): each manifest entry's byte size,
 * and the shards read into ArrayBuffers of bounded size, failing with the file named when one ends early.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fsp } from 'fs';
import { CHUNK_BYTES } from '../files';
import { describe } from '../describeValue';

/** Largest weight file `load` reads into one ArrayBuffer: bigger ArrayBuffers are unreliable in Node. */
export const MAX_LOAD_BYTES = 2 ** 31 - 1;

/**
 * Throws one line naming `where` unless `spec` is a weight spec with a string name, a shape of non-negative
 * integers, and a dtype whose byte size is fixed (`allowed`): checked before any size is computed from it.
 */
export function checkSpec(spec: unknown, where: string, allowed: readonly string[]): tf.io.WeightsManifestEntry {
  const s = spec as tf.io.WeightsManifestEntry;
  if (s === null || typeof s !== 'object' || typeof s.name !== 'string') {
    throw new Error(`${where}: expected each weight spec to be an object with a string "name", got ${describe(spec)}`);
  }
  if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !Number.isSafeInteger(s.shape.reduce((a: number, b: number) => a * b, 1) * 8)) {
    throw new Error(`${where}: weight "${s.name.slice(0, 80)}" has shape ${describe(s.shape)}, expected an array of non-negative integers`);
  }
  if (!allowed.includes(s.dtype)) {
    throw new Error(`${where}: weight "${s.name.slice(0, 80)}" has dtype ${describe(s.dtype)}, expected ${allowed.join(' or ')}`);
  }
  return s;
}

/** Bytes per element of a weight spec, or null where it cannot be known from the spec (strings). */
export function specByteLength(spec: tf.io.WeightsManifestEntry): number | null {
  if (spec == null || !Array.isArray(spec.shape)) return null;
  const q = spec.quantization;
  const itemSize = q != null
    ? ({ uint8: 1, uint16: 2, float16: 2 } as Record<string, number>)[q.dtype]
    : ({ float32: 4, int32: 4, bool: 1, complex64: 8 } as Record<string, number>)[spec.dtype];
  if (itemSize === undefined) return null;
  return spec.shape.reduce((a, b) => a * b, 1) * itemSize;
}

/** Fills `target` from `fh` at `position`, failing if the file is shorter than expected. */
export async function readInto(fh: fsp.FileHandle, path: string, target: Uint8Array, position: number, expected: number): Promise<void> {
  for (let done = 0; done < target.length;) {
    const { bytesRead } = await fh.read(target, done, Math.min(CHUNK_BYTES, target.length - done), position + done);
    if (bytesRead === 0) throw new Error(`weight file ${path} ended after ${position + done} bytes, expected ${expected} (was it changed while loading?)`);
    done += bytesRead;
  }
}

/**
 * The size to cut the last weight file into, or null to read every file whole.
 *
 * Porting note: tfjs 4.22's CompositeArrayBuffer, when every buffer but the last has one size u, finds
 * the buffer of byte b as floor(b / u): wrong (silently zeros) when the last buffer is longer than u.
 * Cutting the last file into pieces of u bytes keeps that arithmetic right.
 */
export function pieceSizeFor(files: { size: number }[]): number | null {
  const sizes = files.map((f) => f.size).filter((n) => n > 0);
  if (sizes.length < 2) return null;
  const u = sizes[0];
  const last = sizes[sizes.length - 1];
  return sizes.slice(0, -1).every((n) => n === u) && last > u ? u : null;
}

/** One file as ArrayBuffers: none if empty, one whole, or (for the last file) pieces of `pieceSize`. */
export async function readFilePieces(path: string, size: number, pieceSize: number | null): Promise<ArrayBuffer[]> {
  if (size === 0) return [];
  const step = pieceSize !== null && size > pieceSize ? pieceSize : size;
  const out: ArrayBuffer[] = [];
  for (let at = 0; at < size; at += step) out.push(new ArrayBuffer(Math.min(step, size - at)));
  const fh = await fsp.open(path, 'r');
  try {
    let at = 0;
    for (const buf of out) {
      await readInto(fh, path, new Uint8Array(buf), at, size);
      at += buf.byteLength;
    }
  } finally {
    await fh.close();
  }
  return out;
}
