/**
 * Reader for the safetensors format (the writer is safetensorsWriter.ts, re-exported here) (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
 *
 * Our own implementation because no well-kept Node library streams large (> 2 GiB) files with bounds checks.
 * Files are never read whole: the header is read and validated on open, each tensor is read
 * on demand with positional reads, and offsets are plain numbers (exact up to 2^53).
 */
import { promises as fsp } from 'fs';
import { bf16BitsToFloat32, float16BitsToFloat32 } from './halfFloat';
import { describe } from './describe';

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

/** Reads and conversions proceed in pieces of at most this many bytes (also below Node's 2 GiB I/O limit). */
export const CHUNK_BYTES = 64 * 1024 * 1024;

export const METADATA_KEY = '__metadata__';

function isLittleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function assertLittleEndianHost(): void {
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

/** Fills `target` from the file at `position`, failing if the file ends early. */
export async function readFully(fh: fsp.FileHandle, target: Uint8Array, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(target.length - done, CHUNK_BYTES);
    const { bytesRead } = await fh.read(target, done, want, position + done);
    if (bytesRead === 0) {
      throw new Error(`${source}: unexpected end of file at byte ${position + done} (wanted ${target.length - done} more bytes; was the file truncated?)`);
    }
    done += bytesRead;
  }
}

/** Converts `count` elements of raw little-endian `dtype` bytes (a fresh, aligned buffer) into `out` at `at`. */
type ChunkDecoder = (bytes: ArrayBuffer, count: number, out: Float32Array | Int32Array, at: number) => void;

function decodeTo(dtype: SafetensorsDType, kind: 'float' | 'int', where: string): ChunkDecoder {
  switch (dtype) {
    case 'F64': return (b, n, o, at) => o.set(new Float64Array(b, 0, n), at);
    case 'F32': return (b, n, o, at) => o.set(new Float32Array(b, 0, n), at);
    case 'F16': return (b, n, o, at) => float16BitsToFloat32(new Uint16Array(b, 0, n), (o as Float32Array).subarray(at, at + n));
    case 'BF16': return (b, n, o, at) => bf16BitsToFloat32(new Uint16Array(b, 0, n), (o as Float32Array).subarray(at, at + n));
    case 'I32': return (b, n, o, at) => o.set(new Int32Array(b, 0, n), at);
    case 'I16': return (b, n, o, at) => o.set(new Int16Array(b, 0, n), at);
    case 'I8': return (b, n, o, at) => o.set(new Int8Array(b, 0, n), at);
    case 'U8':
    case 'BOOL': return (b, n, o, at) => o.set(new Uint8Array(b, 0, n), at);
    case 'I64': return (b, n, o, at) => {
      const words = new Int32Array(b, 0, 2 * n);
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i];
        const hi = words[2 * i + 1];
        if (kind === 'int') {
          if (hi !== lo >> 31) {
            const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
            throw new Error(`${where}: I64 element ${at + i} = ${value} does not fit in int32`);
          }
          o[at + i] = lo;
        } else {
          o[at + i] = hi * 4294967296 + (lo >>> 0);
        }
      }
    };
  }
}

/** An open safetensors file: validated header in memory, tensor data read on demand. */
export class SafetensorsFile {
  /** Absolute offset of the first data byte. */
  readonly dataStart: number;
  /** File size in bytes at open time. */
  readonly size: number;
  private fh: fsp.FileHandle | null;

  private constructor(
    readonly path: string,
    fh: fsp.FileHandle,
    size: number,
    readonly metadata: Record<string, string>,
    readonly entries: Map<string, SafetensorsEntry>,
    dataStart: number,
  ) {
    this.fh = fh;
    this.size = size;
    this.dataStart = dataStart;
  }

  /** Opens `path`, reads and validates its header; tensor data is not read. */
  static async open(path: string): Promise<SafetensorsFile> {
    assertLittleEndianHost();
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (err) {
      throw new Error(`${path}: cannot open safetensors file (${(err as Error).message})`);
    }
    try {
      const { size } = await fh.stat();
      if (size < 8) throw new Error(`${path}: file is ${size} bytes, shorter than the 8-byte header length prefix`);
      const prefix = new Uint8Array(8);
      await readFully(fh, prefix, 0, path);
      const declared = Buffer.from(prefix.buffer).readBigUInt64LE(0);
      if (declared > BigInt(size - 8)) throw new Error(`${path}: header length ${declared} exceeds file size ${size}`);
      if (declared > BigInt(MAX_HEADER_BYTES)) throw new Error(`${path}: header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      const headerBytes = new Uint8Array(Number(declared));
      await readFully(fh, headerBytes, 8, path);
      const { entries, metadata, dataStart } = parseSafetensorsHeader(headerBytes, size, path);
      return new SafetensorsFile(path, fh, size, metadata, entries, dataStart);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Tensor names in header order. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry named `name`, or a clear error listing what the file has. */
  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (e === undefined) {
      const names = this.keys();
      const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? `, ... (${names.length} in all)` : '');
      throw new Error(`${this.path}: no tensor named "${name}" (the file has: ${shown || 'no tensors'})`);
    }
    return e;
  }

  /** The raw little-endian bytes of tensor `name`. */
  async readRaw(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const out = new Uint8Array(e.end - e.begin);
    await readFully(this.handle(), out, e.begin, this.path);
    return out;
  }

  /** Tensor `name` as float32 (from F64, F32, F16, BF16 or any integer dtype). */
  async readFloat32(name: string): Promise<Float32Array> {
    const e = this.entry(name);
    const out = new Float32Array(elementCount(e.shape, name));
    if (e.dtype === 'F32') {
      await readFully(this.handle(), new Uint8Array(out.buffer), e.begin, this.path);
    } else {
      await this.decodeInto(e, out, decodeTo(e.dtype, 'float', `${this.path}: tensor "${name}"`));
    }
    return out;
  }

  /** Tensor `name` as int32 (from I32, I64 when every value fits, I16, I8, U8 or BOOL). */
  async readInt32(name: string): Promise<Int32Array> {
    const e = this.entry(name);
    if (e.dtype === 'F64' || e.dtype === 'F32' || e.dtype === 'F16' || e.dtype === 'BF16') {
      throw new Error(`${this.path}: tensor "${name}" has dtype ${e.dtype}; readInt32 needs I32, I64, I16, I8, U8 or BOOL (use readFloat32)`);
    }
    const out = new Int32Array(elementCount(e.shape, name));
    if (e.dtype === 'I32') {
      await readFully(this.handle(), new Uint8Array(out.buffer), e.begin, this.path);
    } else {
      await this.decodeInto(e, out, decodeTo(e.dtype, 'int', `${this.path}: tensor "${name}"`));
    }
    return out;
  }

  /** Closes the file; later reads fail. Safe to call twice. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) await fh.close();
  }

  private handle(): fsp.FileHandle {
    if (this.fh === null) throw new Error(`${this.path}: safetensors file is closed`);
    return this.fh;
  }

  /** Reads the entry chunk by chunk into a reused scratch buffer and decodes each chunk into `out`. */
  private async decodeInto(e: SafetensorsEntry, out: Float32Array | Int32Array, decode: ChunkDecoder): Promise<void> {
    const itemSize = SAFETENSORS_DTYPE_SIZES[e.dtype];
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / itemSize));
    const total = out.length;
    const scratch = new ArrayBuffer(Math.min(total, perChunk) * itemSize);
    for (let at = 0; at < total; at += perChunk) {
      const n = Math.min(perChunk, total - at);
      await readFully(this.handle(), new Uint8Array(scratch, 0, n * itemSize), e.begin + at * itemSize, this.path);
      decode(scratch, n, out, at);
    }
  }
}

export * from './safetensorsWriter';
