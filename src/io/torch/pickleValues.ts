/**
 * Helpers for unpickled values: latin-1 decoding, and short descriptions of values and errors for messages.
 */
import { PickleGlobal } from './pickleTypes';

/** Decodes bytes one char per byte (chunked, so long inputs do not overflow the call stack). */
export function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

/** The message of a thrown value (handlers may throw anything). */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Short description of a pickled value for error messages: never recursive, so it is safe on deeply nested
 * or self-referencing values (which pickles can build with the memo).
 */
export function describePickleValue(v: unknown): string {
  return describe(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return `global ${v.fullName}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Set) return `set of ${v.size}`;
  if (v instanceof Uint8Array) return `bytes of ${v.length}`;
  if (Array.isArray(v)) return `${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

/**
 * The little-endian two's-complement integer in `b` (LONG1 / LONG4 payloads): a number when exact, else a bigint.
 * Linear in b.length (one native hex string, one BigInt parse): shifting a BigInt byte by byte is quadratic, and a
 * LONG4 payload of a few MiB then ran for minutes.
 */
export function decodeLong(b: Uint8Array): number | bigint {
  const len = b.length;
  if (len === 0) return 0;
  let v = BigInt('0x' + Buffer.from(b).reverse().toString('hex')); // native hex: linear and fast
  if (b[len - 1] & 0x80) v -= 1n << BigInt(8 * len);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
