/**
 * The safetensors format: dtypes and their sizes, limits, and the header parser with every check of a file from
 * a stranger (offsets, sizes, overlaps). No file system here: the browser build parses headers with it too.
 */
import { describe } from '../describeValue';

/** Element types this library reads. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** One tensor of a safetensors file; `begin`/`end` are absolute byte offsets in the file. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Bytes per element of each dtype. */
export const SAFETENSORS_DTYPE_SIZES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** The largest JSON header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;


export const METADATA_KEY = '__metadata__';

function isLittleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export function assertLittleEndianHost(): void {
  if (!isLittleEndianHost()) throw new Error('safetensors: this reader needs a little-endian host (the file format is little-endian)');
}


export function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Product of a shape's dimensions (1 for a scalar), checked to stay an exact integer. */
export function elementCount(shape: number[], what: string): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: shape ${describe(shape)} has more than 2^53 elements`);
  return n;
}

/** Parses one header entry, checking its fields; offsets are returned relative to the data start. */
function parseEntry(name: string, raw: unknown, where: string): SafetensorsEntry {
  const what = `${where}: tensor "${name}"`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${what}: expected an object with dtype, shape, data_offsets, got ${describe(raw)}`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in obj)) throw new Error(`${what}: missing "${key}" (expected dtype, shape and data_offsets)`);
  }
  const dtype = obj.dtype;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_SIZES, dtype)) {
    throw new Error(`${what}: unsupported dtype ${describe(dtype)} (expected one of ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(', ')})`);
  }
  const shape = obj.shape;
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new Error(`${what}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  const offsets = obj.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
    throw new Error(`${what}: data_offsets must be two non-negative integers [begin, end] with begin <= end, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  const itemSize = SAFETENSORS_DTYPE_SIZES[dtype as SafetensorsDType];
  const expected = elementCount(shape as number[], what) * itemSize;
  if (end - begin !== expected) {
    throw new Error(`${what}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape ${describe(shape)} of ${dtype} needs ${expected}`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], begin, end };
}

/** Parses the optional `__metadata__` entry: a string-to-string map. */
function parseMetadata(raw: unknown, where: string): Record<string, string> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${where}: __metadata__ must be an object of strings, got ${describe(raw)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new Error(`${where}: __metadata__["${k}"] must be a string, got ${describe(v)}`);
    out[k] = v;
  }
  return out;
}

/** Checks that the tensors tile the data region from offset 0 with no overlap and no gap. */
function checkLayout(entries: SafetensorsEntry[], dataBytes: number, where: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: SafetensorsEntry | null = null;
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw new Error(`${where}: tensor "${e.name}" [${e.begin}, ${e.end}] overlaps tensor "${previous!.name}" [${previous!.begin}, ${previous!.end}]`);
    }
    if (e.begin > cursor) {
      const after = previous === null ? 'the start of the data' : `tensor "${previous.name}" (ends at ${cursor})`;
      throw new Error(`${where}: gap of ${e.begin - cursor} bytes between ${after} and tensor "${e.name}" (begins at ${e.begin}); tensors must be contiguous`);
    }
    if (e.end > dataBytes) {
      throw new Error(`${where}: tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] run past the end of the file (the data region holds ${dataBytes} bytes; is the file truncated?)`);
    }
    cursor = e.end;
    previous = e;
  }
}

/**
 * Parses and validates a safetensors JSON header.
 * @param headerBytes the JSON header bytes (what follows the 8-byte length prefix, `length` bytes of it)
 * @param fileSize the size of the whole file in bytes, for bounds checks
 * @param source name used in error messages (usually the file path)
 * @returns entries (with absolute file offsets, in header order), the metadata map, and the
 *   absolute offset where tensor data starts (8 + headerBytes.length)
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  source = 'safetensors header',
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string>; dataStart: number } {
  const dataStart = 8 + headerBytes.length;
  if (dataStart > fileSize) {
    throw new Error(`${source}: header length ${headerBytes.length} exceeds file size ${fileSize}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`${source}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source}: header must be a JSON object, got ${describe(json)}`);
  }
  const metadata = parseMetadata((json as Record<string, unknown>)[METADATA_KEY], source);
  const relative: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name !== METADATA_KEY) relative.push(parseEntry(name, raw, source));
  }
  checkLayout(relative, fileSize - dataStart, source);
  const entries = new Map<string, SafetensorsEntry>();
  for (const e of relative) entries.set(e.name, { ...e, begin: e.begin + dataStart, end: e.end + dataStart });
  return { entries, metadata, dataStart };
}
