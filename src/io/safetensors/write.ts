/**
 * Writer for the safetensors format: header first (all shapes known up front), then each tensor's bytes,
 * streamed one tensor at a time, written to a temp file beside the target and renamed at the end.
 */
import { promises as fsp, constants as fsConstants } from 'fs';
import { float32ToBF16Bits, float32ToFloat16Bits } from './halfFloat';
import { describe } from '../describeValue';
import { MAX_HEADER_BYTES, METADATA_KEY, elementCount, isNonNegativeInteger } from './format';
import { CHUNK_BYTES, readFully, tempPathBeside, writeAtomically, writeFully } from '../files';

/** Element types the writer produces. */
export type SafetensorsWriteDType = 'F32' | 'F16' | 'BF16' | 'I32';

/** Name, dtype and shape of a tensor to write (everything the header needs). */
export interface SafetensorsTensorSpec {
  name: string;
  dtype: SafetensorsWriteDType;
  shape: number[];
}

/**
 * Tensor values to write. F32 takes a Float32Array, I32 an Int32Array; F16/BF16 take either a
 * Float32Array (encoded here, round to nearest even) or a Uint16Array of already-encoded bits.
 */
export type SafetensorsData = Float32Array | Int32Array | Uint16Array;

/** A tensor to write, values included. */
export interface SafetensorsTensorIn extends SafetensorsTensorSpec {
  data: SafetensorsData;
}

/** Supplies the values of one tensor when the writer reaches it (called once per spec, in order). */
export type SafetensorsDataGetter = (spec: SafetensorsTensorSpec, index: number) => SafetensorsData | Promise<SafetensorsData>;

const WRITE_SIZES: Record<SafetensorsWriteDType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4 };

function checkSpec(spec: SafetensorsTensorSpec, seen: Set<string>, where: string): void {
  const what = `${where}: tensor "${spec.name}"`;
  if (typeof spec.name !== 'string' || spec.name === '' || spec.name === METADATA_KEY) {
    throw new Error(`${where}: tensor name must be a non-empty string other than "${METADATA_KEY}", got ${describe(spec.name)}`);
  }
  if (seen.has(spec.name)) throw new Error(`${what}: name appears twice`);
  seen.add(spec.name);
  if (!Object.prototype.hasOwnProperty.call(WRITE_SIZES, spec.dtype)) {
    throw new Error(`${what}: cannot write dtype ${describe(spec.dtype)} (expected F32, F16, BF16 or I32)`);
  }
  if (!Array.isArray(spec.shape) || !spec.shape.every(isNonNegativeInteger)) {
    throw new Error(`${what}: shape must be an array of non-negative integers, got ${describe(spec.shape)}`);
  }
}

/** Yields the little-endian bytes of `data` as `spec.dtype`, in chunks of at most CHUNK_BYTES. */
function* encodeChunks(spec: SafetensorsTensorSpec, data: SafetensorsData, where: string): Generator<Uint8Array> {
  const what = `${where}: tensor "${spec.name}"`;
  const n = elementCount(spec.shape, what);
  if (data.length !== n) throw new Error(`${what}: shape ${describe(spec.shape)} needs ${n} values, got ${data.length}`);
  const ok = spec.dtype === 'F32' ? data instanceof Float32Array
    : spec.dtype === 'I32' ? data instanceof Int32Array
    : data instanceof Uint16Array || data instanceof Float32Array;
  if (!ok) {
    const want = spec.dtype === 'F32' ? 'a Float32Array' : spec.dtype === 'I32' ? 'an Int32Array' : 'a Float32Array or a Uint16Array of encoded bits';
    throw new Error(`${what}: dtype ${spec.dtype} needs ${want}, got ${data.constructor.name}`);
  }
  const itemSize = WRITE_SIZES[spec.dtype];
  const perChunk = Math.floor(CHUNK_BYTES / itemSize);
  const needsEncoding = (spec.dtype === 'F16' || spec.dtype === 'BF16') && data instanceof Float32Array;
  const scratch = needsEncoding ? new Uint16Array(Math.min(n, perChunk)) : null;
  for (let at = 0; at < n; at += perChunk) {
    const count = Math.min(perChunk, n - at);
    if (scratch !== null) {
      const src = (data as Float32Array).subarray(at, at + count);
      const dst = scratch.subarray(0, count);
      if (spec.dtype === 'F16') float32ToFloat16Bits(src, dst);
      else float32ToBF16Bits(src, dst);
      yield new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
    } else {
      const part = data.subarray(at, at + count);
      yield new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    }
  }
}

/** Builds the padded header (JSON plus trailing spaces to a multiple of 8) with its 8-byte length prefix. */
function buildHeader(specs: SafetensorsTensorSpec[], metadata: Record<string, string> | undefined, where: string): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${where}: metadata["${k}"] must be a string, got ${describe(v)}`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const spec of specs) {
    const bytes = elementCount(spec.shape, where) * WRITE_SIZES[spec.dtype];
    header[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new Error(`${where}: header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

/** Header first, then each tensor's data fetched and written in spec order. */
async function writeFromSpecs(
  path: string,
  specs: SafetensorsTensorSpec[],
  getData: SafetensorsDataGetter,
  metadata: Record<string, string> | undefined,
): Promise<void> {
  const seen = new Set<string>();
  for (const spec of specs) checkSpec(spec, seen, path);
  const header = buildHeader(specs, metadata, path);
  await writeAtomically(path, async (fh) => {
    await writeFully(fh, header, 0);
    let position = header.length;
    for (let i = 0; i < specs.length; i++) {
      const data = await getData(specs[i], i);
      for (const chunk of encodeChunks(specs[i], data, path)) {
        await writeFully(fh, chunk, position);
        position += chunk.length;
      }
    }
  });
}

/**
 * Streams tensors whose shapes are not known in advance: data goes to a spool file first, then the
 * final file is assembled from the header and the spool (one extra copy on disk, little memory).
 */
async function writeFromStream(
  path: string,
  tensors: AsyncIterable<SafetensorsTensorIn>,
  metadata: Record<string, string> | undefined,
): Promise<void> {
  const spoolPath = tempPathBeside(path, 'spool');
  const spool = await fsp.open(spoolPath, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_RDWR, 0o600);
  try {
    const specs: SafetensorsTensorSpec[] = [];
    const seen = new Set<string>();
    let spooled = 0;
    for await (const t of tensors) {
      checkSpec(t, seen, path);
      specs.push({ name: t.name, dtype: t.dtype, shape: [...t.shape] });
      for (const chunk of encodeChunks(t, t.data, path)) {
        await writeFully(spool, chunk, spooled);
        spooled += chunk.length;
      }
    }
    const header = buildHeader(specs, metadata, path);
    await writeAtomically(path, async (fh) => {
      await writeFully(fh, header, 0);
      const buf = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(spooled, 1)));
      for (let at = 0; at < spooled; at += buf.length) {
        const piece = buf.subarray(0, Math.min(buf.length, spooled - at));
        await readFully(spool, piece, at, spoolPath);
        await writeFully(fh, piece, header.length + at);
      }
    });
  } finally {
    await spool.close().catch(() => undefined);
    await fsp.rm(spoolPath, { force: true }).catch(() => undefined);
  }
}

/**
 * Writes a safetensors file atomically (temporary file beside `path`, then rename).
 *
 * Two forms:
 * - `writeSafetensors(path, tensors, metadata?)` with an array of tensors (values included), or an
 *   async iterable of them (data is spooled to a temporary file, since the header must come first);
 * - `writeSafetensors(path, specs, getData, metadata?)` with the specs up front and a getter called
 *   once per tensor, in order, right before its data is written: the streaming form for converters,
 *   which holds only one tensor in memory at a time.
 *
 * Tensors are laid out contiguously in the given order; the header is padded with spaces to a
 * multiple of 8 bytes.
 */
export async function writeSafetensors(
  path: string,
  tensors: SafetensorsTensorIn[] | AsyncIterable<SafetensorsTensorIn>,
  metadata?: Record<string, string>,
): Promise<void>;
export async function writeSafetensors(
  path: string,
  specs: SafetensorsTensorSpec[],
  getData: SafetensorsDataGetter,
  metadata?: Record<string, string>,
): Promise<void>;
export async function writeSafetensors(
  path: string,
  tensorsOrSpecs: SafetensorsTensorIn[] | SafetensorsTensorSpec[] | AsyncIterable<SafetensorsTensorIn>,
  getDataOrMetadata?: SafetensorsDataGetter | Record<string, string>,
  maybeMetadata?: Record<string, string>,
): Promise<void> {
  if (typeof getDataOrMetadata === 'function') {
    if (!Array.isArray(tensorsOrSpecs)) throw new Error(`${path}: writeSafetensors with a data getter needs an array of specs`);
    return writeFromSpecs(path, tensorsOrSpecs, getDataOrMetadata, maybeMetadata);
  }
  if (Array.isArray(tensorsOrSpecs)) {
    const tensors = tensorsOrSpecs as SafetensorsTensorIn[];
    tensors.forEach((t) => {
      if (t.data === undefined) throw new Error(`${path}: tensor "${t.name}" has no data (pass a data getter to write specs)`);
    });
    return writeFromSpecs(path, tensors, (_spec, i) => tensors[i].data, getDataOrMetadata);
  }
  if (tensorsOrSpecs !== null && typeof tensorsOrSpecs === 'object' && Symbol.asyncIterator in tensorsOrSpecs) {
    return writeFromStream(path, tensorsOrSpecs, getDataOrMetadata);
  }
  throw new Error(`${path}: writeSafetensors expected an array or async iterable of tensors, got ${describe(tensorsOrSpecs)}`);
}
