/**
 * Generic byte-level mutations for the fuzzer: bit flips, byte overwrites, truncation, insertion, deletion,
 * duplication, and writing "interesting" integers at a given offset. Each takes the input and a seeded
 * {@link Rng} and returns a new array (inputs are never modified in place).
 */
import { Rng } from '../src/tasks/rng';

/** One applied mutation: the bytes it produced and a short description for reports. */
export interface Mutated {
  bytes: Uint8Array;
  what: string;
}

/** A mutation strategy: given a seed input, produce a mutated copy. */
export type Mutator = (input: Uint8Array, rng: Rng) => Mutated;

/** A random offset in [0, n) biased towards the start, where headers and metadata live. */
export function biasedOffset(n: number, rng: Rng): number {
  if (n <= 1) return 0;
  const r = rng.next();
  if (r < 0.4) return rng.int(Math.min(n, 256));
  if (r < 0.6) return rng.int(Math.min(n, 4096));
  if (r < 0.7) return n - 1 - rng.int(Math.min(n, 256)); // trailers (zip central directory, EOCD)
  return rng.int(n);
}

/** Flips 1 to 8 random bits. */
export const bitFlip: Mutator = (input, rng) => {
  const out = input.slice();
  if (out.length === 0) return { bytes: out, what: 'bit flip (empty input)' };
  const count = rng.range(1, 8);
  const at: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = biasedOffset(out.length, rng);
    out[o] ^= 1 << rng.int(8);
    at.push(o);
  }
  return { bytes: out, what: `flip bits at ${at.join(',')}` };
};

/** Values that often break parsers: boundaries of signed and unsigned integer types. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x2e, 0x5c, 0x7b, 0x7d];

/** Overwrites a run of 1 to 16 bytes with random or interesting values. */
export const byteOverwrite: Mutator = (input, rng) => {
  const out = input.slice();
  if (out.length === 0) return { bytes: out, what: 'overwrite (empty input)' };
  const at = biasedOffset(out.length, rng);
  const len = Math.min(rng.range(1, 16), out.length - at);
  const interesting = rng.next() < 0.5;
  for (let i = 0; i < len; i++) {
    out[at + i] = interesting ? INTERESTING_BYTES[rng.int(INTERESTING_BYTES.length)] : rng.int(256);
  }
  return { bytes: out, what: `overwrite ${len} bytes at ${at}` };
};

/** Cuts the input short (anywhere, including to 0 bytes or just before the end). */
export const truncate: Mutator = (input, rng) => {
  const r = rng.next();
  const keep = r < 0.2 ? rng.int(Math.min(input.length + 1, 16))
    : r < 0.4 ? Math.max(0, input.length - 1 - rng.int(Math.min(input.length, 64)))
      : rng.int(input.length + 1);
  return { bytes: input.slice(0, keep), what: `truncate to ${keep} of ${input.length} bytes` };
};

/** Inserts 1 to 64 random bytes (or a copy of a nearby run) at a random offset. */
export const insertBytes: Mutator = (input, rng) => {
  const at = biasedOffset(input.length + 1, rng);
  const len = rng.range(1, 64);
  const piece = new Uint8Array(len);
  if (rng.next() < 0.5 || input.length === 0) for (let i = 0; i < len; i++) piece[i] = rng.int(256);
  else for (let i = 0; i < len; i++) piece[i] = input[(at + i) % input.length];
  const out = new Uint8Array(input.length + len);
  out.set(input.subarray(0, at), 0);
  out.set(piece, at);
  out.set(input.subarray(at), at + len);
  return { bytes: out, what: `insert ${len} bytes at ${at}` };
};

/** Deletes a run of 1 to 64 bytes. */
export const deleteBytes: Mutator = (input, rng) => {
  if (input.length === 0) return { bytes: input.slice(), what: 'delete (empty input)' };
  const at = biasedOffset(input.length, rng);
  const len = Math.min(rng.range(1, 64), input.length - at);
  const out = new Uint8Array(input.length - len);
  out.set(input.subarray(0, at), 0);
  out.set(input.subarray(at + len), at);
  return { bytes: out, what: `delete ${len} bytes at ${at}` };
};

/** Integers to write into length/offset/count fields, for a field of `width` bytes and a file of `size`. */
export function interestingValues(width: 1 | 2 | 4 | 8, size: number): bigint[] {
  const max = (1n << BigInt(8 * width)) - 1n;
  const common = [0n, 1n, max, max - 1n, max >> 1n, (max >> 1n) + 1n, BigInt(size), BigInt(size) + 1n, BigInt(size) * 2n];
  const wide = width === 8 ? [10n * 1024n ** 3n, 1n << 40n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n] : [];
  const mid = width >= 4 ? [0x7fffffffn, 0x80000000n, 0x40000000n, 10_000_000n] : [];
  return [...common, ...wide, ...mid].filter((v) => v >= 0n && v <= max);
}

/** Writes `value` as a little- or big-endian unsigned integer of `width` bytes at `offset` (in place). */
export function writeUint(bytes: Uint8Array, offset: number, width: number, value: bigint, littleEndian = true): void {
  for (let i = 0; i < width && offset + i < bytes.length; i++) {
    const shift = BigInt(8 * (littleEndian ? i : width - 1 - i));
    bytes[offset + i] = Number((value >> shift) & 0xffn);
  }
}

/** Reads an unsigned little-endian integer of `width` bytes at `offset` (missing bytes read as 0). */
export function readUint(bytes: Uint8Array, offset: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(offset + i < bytes.length ? bytes[offset + i] : 0);
  return v;
}

/** The generic mutators, for targets that add their own structure-aware ones. */
export const GENERIC_MUTATORS: readonly Mutator[] = [bitFlip, byteOverwrite, truncate, insertBytes, deleteBytes];
