/**
 * Reader for the safetensors format (the writer is ./write.ts; ./index.ts exports both) (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
 *
 * Our own implementation because no well-kept Node library streams large (> 2 GiB) files with bounds checks.
 * Files are never read whole: the header is read and validated on open, each tensor is read
 * on demand with positional reads, and offsets are plain numbers (exact up to 2^53).
 */
import { promises as fsp } from 'fs';
import { bf16BitsToFloat32, float16BitsToFloat32 } from './halfFloat';
import { CHUNK_BYTES, readFully } from '../files';
import { SafetensorsDType, SafetensorsEntry, SAFETENSORS_DTYPE_SIZES, MAX_HEADER_BYTES, elementCount, parseSafetensorsHeader, assertLittleEndianHost } from './format';

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

