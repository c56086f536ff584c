/**
 * safetensors-aware mutations: the 8-byte header length, JSON mutations of the header (re-framed with a
 * matching length most of the time, so that the reader gets past the prefix), and consistent claims of huge
 * tensors (a shape and data_offsets that agree with each other but not with the file).
 */
import { Rng } from '../src/tasks/rng';
import { Mutated, Mutator, readUint, writeUint } from './bytes';
import { fieldMutator } from './fields';
import { mutateJson } from './jsonMutations';

/** The header text and data of a safetensors file, or null when the prefix is not plausible. */
function split(input: Uint8Array): { header: string; data: Uint8Array } | null {
  if (input.length < 8) return null;
  const n = readUint(input, 0, 8);
  if (n > BigInt(input.length - 8)) return null;
  const end = 8 + Number(n);
  return { header: Buffer.from(input.subarray(8, end)).toString('utf8'), data: input.subarray(end) };
}

/** Re-frames a header text and data into a file; `prefix` overrides the length field. */
function join(header: string, data: Uint8Array, pad: boolean, prefix?: bigint): Uint8Array {
  let body = Buffer.from(header, 'utf8');
  if (pad && body.length % 8 !== 0) body = Buffer.concat([body, Buffer.alloc(8 - (body.length % 8), 0x20)]);
  const out = new Uint8Array(8 + body.length + data.length);
  writeUint(out, 0, 8, prefix ?? BigInt(body.length));
  out.set(body, 8);
  out.set(data, 8 + body.length);
  return out;
}

/** Sets the 8-byte header length to a boundary value. */
export function headerLengthMutator(fallback: Mutator): Mutator {
  return fieldMutator((input) => (input.length >= 8 ? [{ offset: 0, width: 8, name: 'safetensors header length' }] : []), fallback);
}

/** A JSON mutation of the header, re-framed (with the right length 80% of the time). */
export function headerJsonMutator(fallback: Mutator): Mutator {
  return (input: Uint8Array, rng: Rng): Mutated => {
    const parts = split(input);
    if (!parts) return fallback(input, rng);
    const m = mutateJson(parts.header, rng);
    const keepOldPrefix = rng.next() < 0.2;
    const prefix = keepOldPrefix ? readUint(input, 0, 8) : undefined;
    return { bytes: join(m.text, parts.data, rng.next() < 0.5, prefix), what: `header ${m.what}${keepOldPrefix ? ' (old length kept)' : ''}` };
  };
}

const ITEM_SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/**
 * Makes one tensor claim far more data than the file holds, with a self-consistent shape and data_offsets:
 * 10 GiB, 2^40 elements, 2^53 bytes, or a product of dimensions that overflows 2^53.
 */
export function hugeTensorMutator(fallback: Mutator): Mutator {
  return (input: Uint8Array, rng: Rng): Mutated => {
    const parts = split(input);
    let header: Record<string, { dtype?: string; shape?: unknown; data_offsets?: unknown }>;
    try {
      header = JSON.parse(parts?.header ?? '');
    } catch {
      return fallback(input, rng);
    }
    if (!parts || header === null || typeof header !== 'object' || Array.isArray(header)) return fallback(input, rng);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    if (names.length === 0) return fallback(input, rng);
    const name = names[rng.int(names.length)];
    const e = header[name];
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return fallback(input, rng);
    const size = ITEM_SIZES[String(e?.dtype)] ?? 4;
    const begin = Array.isArray(e?.data_offsets) && typeof e.data_offsets[0] === 'number' ? e.data_offsets[0] : 0;
    const kind = rng.int(4);
    let shape: number[];
    if (kind === 0) shape = [Math.floor((10 * 1024 ** 3) / size)];
    else if (kind === 1) shape = [1024, 1024, 1024, 1024];
    else if (kind === 2) shape = [Math.floor(2 ** 53 / size / 8)];
    else shape = [2 ** 30, 2 ** 30, 2 ** 30];
    const bytes = shape.reduce((a, b) => a * b, size);
    e.shape = shape;
    e.data_offsets = [begin, begin + bytes];
    return { bytes: join(JSON.stringify(header), parts.data, true), what: `claim tensor "${name}" of shape [${shape}] (${bytes} bytes)` };
  };
}
