/**
 * Reader for `torch.save` zip checkpoints (e.g. the original `state-spaces/mamba-*`
 * `pytorch_model.bin`): `<archive>/data.pkl` holds the pickled state dict whose tensors point at
 * storages `<archive>/data/<key>`, stored uncompressed in the zip.
 *
 * The pickle is read by the safe {@link unpickle} (nothing is executed). Only the zip's central
 * directory and `data.pkl` are read at open; each tensor's bytes are read on demand with positioned
 * reads, so multi-gigabyte (zip64) checkpoints never have to fit in memory.
 */
import { promises as fsp } from 'fs';
import * as yauzl from 'yauzl';
import { BoundedZipReader } from './boundedZipReader';
import { unpickle, describePickleValue, PickleGlobal, PickleGlobalSpec } from './unpickle';
import { TorchDtype, TORCH_STORAGE_DTYPES, TORCH_DTYPE_NAMES, dtypeByteSize, bytesToFloat32, HOST_LITTLE_ENDIAN } from './torchDtypes';

export type { TorchDtype } from './torchDtypes';

/** Public description of one tensor of a checkpoint. */
export interface TorchTensorEntry {
  name: string;
  dtype: TorchDtype;
  shape: number[];
}

/** A storage referenced by a pickle persistent id `('storage', torch.XStorage, key, location, numel)`. */
interface StorageRef {
  readonly key: string;
  readonly dtype: TorchDtype;
  /** Element count announced by the pickle. */
  readonly numel: number;
}

/** What `torch._utils._rebuild_tensor_v2` describes: a strided view of a storage. */
interface TensorRef {
  readonly storage: StorageRef;
  /** Offset into the storage, in elements. */
  readonly offset: number;
  readonly shape: number[];
  /** Strides in elements. */
  readonly stride: number[];
}

/** A tensor of the checkpoint together with where its storage lives in the zip. */
interface TensorDescriptor extends TensorRef {
  readonly name: string;
  readonly entry: yauzl.Entry;
}

/** Largest `data.pkl` we agree to load into memory. */
const MAX_PICKLE_BYTES = 1 << 30;
/** Deflate never expands data more than about 1032:1; a larger claimed ratio is a corrupt directory. */
const MAX_DEFLATE_RATIO = 1032;
/**
 * A tensor's float32 output may take at most this multiple of the file size (plus EXPANSION_SLACK bytes):
 * 4x covers every non-overlapping view (1-byte dtypes widen 4x); more needs a stride-0 (broadcast) view.
 */
const MAX_EXPANSION = 4;
const EXPANSION_SLACK = 1 << 20;
/** Largest single positioned read (fs.read takes at most 2^31 - 1 bytes). */
const MAX_READ_CHUNK = 1 << 30;

/** An opened torch zip checkpoint; call {@link TorchCheckpoint.close} when done. */
export class TorchCheckpoint {
  /** Data offsets of storage entries in the file, resolved on first read. */
  private readonly dataStarts = new Map<string, Promise<number>>();
  private closed = false;

  private constructor(
    /** The checkpoint file, for error messages. */
    readonly path: string,
    private readonly zip: yauzl.ZipFile,
    private readonly file: fsp.FileHandle,
    private readonly tensors: ReadonlyMap<string, TensorDescriptor>,
    private readonly littleEndian: boolean,
  ) {}

  /**
   * Opens a `torch.save` zip checkpoint and parses its state dict (tensor names, dtypes, shapes).
   *
   * @param path Path of the `.bin`/`.pt` file.
   * @throws Error naming the file when it is missing, not a zip (including the pre-1.6 legacy
   *   format), lacks `<archive>/data.pkl`, holds a disallowed pickle global, or when a tensor's
   *   storage entry is missing or too small (naming the tensor and storage key).
   */
  static async open(path: string): Promise<TorchCheckpoint> {
    const what = `TorchCheckpoint.open("${path}")`;
    let file: fsp.FileHandle;
    try {
      file = await fsp.open(path, 'r');
    } catch (e) {
      throw new Error(`${what}: cannot open the file: ${(e as Error).message}`);
    }
    let zip: yauzl.ZipFile | null = null;
    try {
      zip = await openZip(path, file, what);
      const entries = await listEntries(zip, what);
      const archive = findArchive(entries, what);
      const littleEndian = await readByteOrder(zip, entries.get(`${archive}/byteorder`), what);
      const pklEntry = entries.get(`${archive}/data.pkl`)!;
      const pickle = await readWholeEntry(zip, pklEntry, MAX_PICKLE_BYTES, what);
      const root = unpickle(pickle, {
        globals: TORCH_PICKLE_GLOBALS,
        persistentLoad: loadStoragePid,
        source: `${what}: ${archive}/data.pkl`,
      });
      const tensors = describeTensors(root, archive, entries, zip.fileSize, what);
      return new TorchCheckpoint(path, zip, file, tensors, littleEndian);
    } catch (e) {
      zip?.close();
      await file.close();
      throw e;
    }
  }

  /** Tensor names, in the checkpoint's order. */
  keys(): string[] {
    return [...this.tensors.keys()];
  }

  /**
   * Name, element type and shape of one tensor.
   *
   * @throws Error when the checkpoint has no tensor of that name.
   */
  entry(name: string): TorchTensorEntry {
    const d = this.descriptor(name);
    return { name: d.name, dtype: d.storage.dtype, shape: [...d.shape] };
  }

  /**
   * Reads one tensor and converts it to float32 (row-major, gathering non-contiguous strides).
   *
   * @throws Error when the name is unknown, the checkpoint is closed, or the file is truncated.
   */
  async readFloat32(name: string): Promise<Float32Array> {
    const d = this.descriptor(name);
    const dtype = d.storage.dtype;
    const size = dtypeByteSize(dtype);
    const numel = product(d.shape);
    if (numel === 0) return new Float32Array(0);
    const span = extent(d.shape, d.stride);
    const contiguous = isContiguous(d.shape, d.stride);
    if (contiguous && dtype === 'F32' && this.littleEndian && HOST_LITTLE_ENDIAN) {
      const out = new Float32Array(numel);
      await this.readStorage(d, d.offset * size, new Uint8Array(out.buffer));
      return out;
    }
    const bytes = new Uint8Array(span * size);
    await this.readStorage(d, d.offset * size, bytes);
    const values = bytesToFloat32(bytes, dtype, this.littleEndian);
    return contiguous ? values : gather(values, d.shape, d.stride);
  }

  /** Releases the file handles; further reads fail. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.zip.close();
    await this.file.close();
  }

  private descriptor(name: string): TensorDescriptor {
    const d = this.tensors.get(name);
    if (!d) {
      const some = [...this.tensors.keys()].slice(0, 5).join(', ');
      throw new Error(
        `TorchCheckpoint("${this.path}"): no tensor named "${name}" (expected one of ${this.tensors.size} ` +
          `names, e.g. ${some})`,
      );
    }
    return d;
  }

  /** Fills `target` with the storage bytes of `d` starting `byteStart` bytes into its entry. */
  private async readStorage(d: TensorDescriptor, byteStart: number, target: Uint8Array): Promise<void> {
    const what = `TorchCheckpoint("${this.path}") reading "${d.name}" from ${d.entry.fileName}`;
    if (this.closed) throw new Error(`${what}: the checkpoint is closed (expected an open checkpoint)`);
    if (d.entry.compressionMethod !== 0) {
      const whole = await readWholeEntry(this.zip, d.entry, Number.MAX_SAFE_INTEGER, what);
      target.set(whole.subarray(byteStart, byteStart + target.length));
      return;
    }
    const dataStart = await this.dataStart(d.entry, what);
    let done = 0;
    while (done < target.length) {
      const chunk = Math.min(target.length - done, MAX_READ_CHUNK);
      const { bytesRead } = await this.file.read(target, done, chunk, dataStart + byteStart + done);
      if (bytesRead === 0) {
        throw new Error(`${what}: file ended after ${done} of ${target.length} bytes (truncated file?)`);
      }
      done += bytesRead;
    }
  }

  /** File offset of an entry's data, from its local header (torch pads it for alignment). */
  private dataStart(entry: yauzl.Entry, what: string): Promise<number> {
    let start = this.dataStarts.get(entry.fileName);
    if (!start) {
      start = this.zip.readLocalFileHeaderPromise(entry, { minimal: true }).then(
        ({ fileDataStart }) => {
          if (fileDataStart + entry.compressedSize > this.zip.fileSize) {
            throw new Error(
              `${what}: entry data ends at byte ${fileDataStart + entry.compressedSize} but the file has ` +
                `${this.zip.fileSize} bytes (truncated file?)`,
            );
          }
          return fileDataStart;
        },
        (e: Error) => {
          throw new Error(`${what}: bad local zip header: ${e.message}`);
        },
      );
      this.dataStarts.set(entry.fileName, start);
    }
    return start;
  }
}

// ---------------------------------------------------------------------------------------------
// Zip access

/** Opens the zip's central directory, with a clear error for non-zip and legacy files. */
async function openZip(path: string, file: fsp.FileHandle, what: string): Promise<yauzl.ZipFile> {
  try {
    const { size } = await file.stat();
    return await yauzl.fromRandomAccessReaderPromise(new BoundedZipReader(file, size), size, { lazyEntries: true, autoClose: false });
  } catch (e) {
    const head = new Uint8Array(2);
    await file.read(head, 0, 2, 0).catch(() => undefined);
    const legacy = head[0] === 0x80 && head[1] === 0x02;
    throw new Error(
      `${what}: not a readable zip archive (expected a torch.save zip checkpoint` +
        (legacy ? '; this looks like the pre-1.6 legacy torch format, re-save it with a recent torch' : '') +
        `): ${(e as Error).message}`,
    );
  }
}

/** All entries of the zip by name. */
async function listEntries(zip: yauzl.ZipFile, what: string): Promise<Map<string, yauzl.Entry>> {
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
  } catch (e) {
    throw new Error(`${what}: corrupt zip central directory: ${(e as Error).message}`);
  }
  return entries;
}

/** The archive folder name: the `X` of the single `X/data.pkl` entry. */
function findArchive(entries: ReadonlyMap<string, yauzl.Entry>, what: string): string {
  const found = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (found.length !== 1) {
    const names = [...entries.keys()].slice(0, 8).join(', ');
    throw new Error(
      `${what}: expected exactly one "<archive>/data.pkl" entry, found ${found.length} ` +
        `(entries: ${names || 'none'}${entries.size > 8 ? ', ...' : ''})`,
    );
  }
  return found[0].slice(0, -'/data.pkl'.length);
}

/** Byte order recorded in `<archive>/byteorder` (absent in old files: little-endian). */
async function readByteOrder(zip: yauzl.ZipFile, entry: yauzl.Entry | undefined, what: string): Promise<boolean> {
  if (!entry) return true;
  const text = Buffer.from(await readWholeEntry(zip, entry, 64, what)).toString('latin1').trim();
  if (text !== 'little' && text !== 'big') {
    throw new Error(`${what}: ${entry.fileName} should say "little" or "big", got "${text}"`);
  }
  return text === 'little';
}

/** Reads one (small) entry completely, decompressing if needed. */
async function readWholeEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, maxBytes: number, what: string): Promise<Uint8Array> {
  if (entry.uncompressedSize > maxBytes) {
    throw new Error(`${what}: ${entry.fileName} has ${entry.uncompressedSize} bytes, expected at most ${maxBytes}`);
  }
  checkEntryClaim(entry, zip.fileSize, `${what}: entry ${entry.fileName}`);
  try {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (e) {
    throw new Error(`${what}: cannot read ${entry.fileName}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Pickle vocabulary of torch state dicts

/** Marker returned by `_rebuild_tensor_v2` and friends. */
class RebuiltTensor implements TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** Marker for a persistent-id storage. */
class StorageMarker implements StorageRef {
  constructor(readonly key: string, readonly dtype: TorchDtype, readonly numel: number) {}
}

/** `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`. */
function rebuildTensor(args: readonly unknown[]): RebuiltTensor {
  if (args.length < 4) throw new Error(`expected at least 4 arguments (storage, offset, size, stride), got ${args.length}`);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageMarker)) throw new Error(`expected a storage as first argument, got ${describePickleValue(storage)}`);
  const shape = intTuple(size, 'size');
  const strides = intTuple(stride, 'stride');
  if (shape.length !== strides.length) {
    throw new Error(`size has ${shape.length} dims but stride has ${strides.length} (expected equal)`);
  }
  return new RebuiltTensor(storage, nonNegativeInt(offset, 'storage_offset'), shape, strides);
}

/** `torch._utils._rebuild_parameter(data, requires_grad, hooks[, state])`: the data tensor. */
function rebuildParameter(args: readonly unknown[]): RebuiltTensor {
  if (!(args[0] instanceof RebuiltTensor)) throw new Error('expected a tensor as first argument');
  return args[0];
}

/** `collections.OrderedDict()` or `OrderedDict([(k, v), ...])`. */
function orderedDict(args: readonly unknown[]): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  if (args.length === 0) return map;
  if (args.length === 1 && Array.isArray(args[0])) {
    for (const pair of args[0]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error('expected a list of (key, value) pairs');
      map.set(pair[0], pair[1]);
    }
    return map;
  }
  throw new Error(`expected no arguments or a list of pairs, got ${args.length} arguments`);
}

/** Allowlisted globals of torch state-dict pickles. */
export const TORCH_PICKLE_GLOBALS: ReadonlyMap<string, PickleGlobalSpec> = new Map<string, PickleGlobalSpec>([
  ['collections.OrderedDict', { call: orderedDict }],
  ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
  ['torch._utils._rebuild_tensor', { call: rebuildTensor }],
  ['torch._utils._rebuild_parameter', { call: rebuildParameter }],
  ['torch._utils._rebuild_parameter_with_state', { call: rebuildParameter }],
  ...[...TORCH_STORAGE_DTYPES.keys()].map((n): [string, PickleGlobalSpec] => [`torch.${n}`, {}]),
  ...[...TORCH_DTYPE_NAMES.keys()].map((n): [string, PickleGlobalSpec] => [`torch.${n}`, {}]),
]);

/** Resolves `('storage', torch.XStorage, key, location, numel)`. */
function loadStoragePid(pid: unknown): StorageMarker {
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
    throw new Error(`expected a persistent id ('storage', type, key, location, numel), got ${describePickleValue(pid)}`);
  }
  const [, type, key, , numel] = pid;
  if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !TORCH_STORAGE_DTYPES.has(type.name)) {
    const got = describePickleValue(type);
    throw new Error(`expected a torch storage class (torch.FloatStorage, ...) in persistent id, got ${got}`);
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) {
    throw new Error(`expected a storage key made of [A-Za-z0-9_.-], got ${describePickleValue(key)}`);
  }
  return new StorageMarker(key, TORCH_STORAGE_DTYPES.get(type.name)!, nonNegativeInt(numel, 'storage numel'));
}

/** The `persistentLoad` of torch pickles (storage persistent ids), for {@link unpickle} callers such as the fuzzer. */
export const torchPersistentLoad: (pid: unknown) => unknown = loadStoragePid;

/**
 * Checks a zip entry's sizes against the file before anything is allocated for it: its stored bytes must
 * fit in the file, and a compressed entry cannot expand beyond deflate's maximum ratio.
 */
function checkEntryClaim(entry: yauzl.Entry, fileSize: number, what: string): void {
  if (entry.compressedSize > fileSize) {
    throw new Error(`${what} claims ${entry.compressedSize} stored bytes, but the file has only ${fileSize} (corrupt zip directory?)`);
  }
  if (entry.compressionMethod !== 0 && entry.uncompressedSize > MAX_DEFLATE_RATIO * entry.compressedSize + 1024) {
    throw new Error(
      `${what} claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed ones, more than ` +
        `deflate's maximum ratio of ${MAX_DEFLATE_RATIO}:1 (corrupt zip directory?)`,
    );
  }
}

/** Tensors of the unpickled root dict, validated against their storage entries (and the file size). */
function describeTensors(
  root: unknown,
  archive: string,
  entries: ReadonlyMap<string, yauzl.Entry>,
  fileSize: number,
  what: string,
): Map<string, TensorDescriptor> {
  if (!(root instanceof Map)) throw new Error(`${what}: expected data.pkl to hold a dict of tensors, got ${describePickleValue(root)}`);
  const tensors = new Map<string, TensorDescriptor>();
  for (const [name, value] of root) {
    if (typeof name !== 'string' || !(value instanceof RebuiltTensor)) continue;
    const entryName = `${archive}/data/${value.storage.key}`;
    const entry = entries.get(entryName);
    if (!entry) {
      throw new Error(`${what}: tensor "${name}" needs storage "${value.storage.key}" but entry ${entryName} is missing`);
    }
    checkEntryClaim(entry, fileSize, `${what}: storage "${value.storage.key}" (${entryName}) of tensor "${name}"`);
    const size = dtypeByteSize(value.storage.dtype);
    const needed = product(value.shape) === 0 ? 0 : (value.offset + extent(value.shape, value.stride)) * size;
    if (entry.uncompressedSize < needed) {
      throw new Error(
        `${what}: storage "${value.storage.key}" (${entryName}) of tensor "${name}" has ${entry.uncompressedSize} ` +
          `bytes but the tensor needs ${needed} (dtype ${value.storage.dtype}, offset ${value.offset}, ` +
          `shape [${value.shape}], stride [${value.stride}])`,
      );
    }
    const outBytes = product(value.shape) * 4;
    if (outBytes > MAX_EXPANSION * fileSize + EXPANSION_SLACK) {
      throw new Error(
        `${what}: tensor "${name}" of shape [${value.shape}] (stride [${value.stride}]) would take ${outBytes} bytes as ` +
          `float32, expected at most ${MAX_EXPANSION}x the ${fileSize}-byte file (a stride-0 view of a small storage?)`,
      );
    }
    tensors.set(name, { ...value, storage: value.storage, name, entry });
  }
  if (tensors.size === 0) {
    const keys = [...root.keys()].slice(0, 8).map(describePickleValue).join(', ');
    throw new Error(`${what}: expected a state dict of tensors, found none (top-level keys: ${keys || 'none'})`);
  }
  return tensors;
}

// ---------------------------------------------------------------------------------------------
// Strided layout helpers

function intTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`expected ${what} to be a tuple of ints, got ${describePickleValue(v)}`);
  return v.map((x, i) => nonNegativeInt(x, `${what}[${i}]`));
}

function nonNegativeInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`expected ${what} to be a non-negative integer, got ${describePickleValue(v)}`);
  }
  return v;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Number of storage elements spanned by a non-empty strided view: 1 + max offset. */
function extent(shape: readonly number[], stride: readonly number[]): number {
  let last = 0;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
  return last + 1;
}

/** Row-major contiguity (strides of size-1 dims do not matter). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Copies a strided view (offsets relative to `values[0]`) into a row-major array. */
function gather(values: Float32Array, shape: readonly number[], stride: readonly number[]): Float32Array {
  const out = new Float32Array(product(shape));
  const index = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = values[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      src += stride[d];
      if (index[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
