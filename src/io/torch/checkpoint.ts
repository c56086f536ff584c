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
import { unpickle, type PickleLimits } from './unpickle';
import { TorchDtype, dtypeByteSize, bytesToFloat32, HOST_LITTLE_ENDIAN } from './dtypes';
import { describeTensors, product, extent, isContiguous, gather } from './tensors';
import { TensorDescriptor, TORCH_PICKLE_GLOBALS, loadStoragePid } from './pickleGlobals';
import { openZip, listEntries, findArchive, readByteOrder, readWholeEntry, inflateRange } from './zip';

export type { TorchDtype } from './dtypes';

/** Public description of one tensor of a checkpoint. */
export interface TorchTensorEntry {
  name: string;
  dtype: TorchDtype;
  shape: number[];
}

/** Largest `data.pkl` we agree to load into memory. */
const MAX_PICKLE_BYTES = 1 << 30;

/**
 * What the data.pkl of a state dict over `storages` storage entries can need: its inflated size and the
 * unpickler's bounds. A real state dict takes well under 100 opcodes and 1 KiB of pickle per tensor; these
 * bounds are several times that, and keep a pickle bomb (1 GiB of MARK or EMPTY_DICT deflated into a few MB)
 * to a clear error in well under a second instead of a fatal out-of-memory.
 */
export function pickleBounds(storages: number): { maxBytes: number; limits: PickleLimits } {
  const n = Math.max(storages, 1);
  return {
    maxBytes: Math.min(MAX_PICKLE_BYTES, (1 << 20) + 16 * 1024 * n),
    limits: { maxOps: 100_000 + 500 * n, maxStack: 100_000 + 100 * n, maxMemo: 100_000 + 100 * n, reason: `a state dict of ${storages} storages` },
  };
}
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
      const storages = [...entries.keys()].filter((n) => n.startsWith(`${archive}/data/`)).length;
      const bounds = pickleBounds(storages);
      if (pklEntry.uncompressedSize > bounds.maxBytes) {
        throw new Error(
          `${what}: ${pklEntry.fileName} inflates to ${pklEntry.uncompressedSize} bytes, but a state dict of ${storages} ` +
            `storages needs at most ${bounds.maxBytes} (a pickle bomb or a corrupt file?)`,
        );
      }
      const pickle = await readWholeEntry(zip, pklEntry, bounds.maxBytes, what);
      const root = unpickle(pickle, {
        globals: TORCH_PICKLE_GLOBALS,
        persistentLoad: loadStoragePid,
        source: `${what}: ${archive}/data.pkl`,
        limits: bounds.limits,
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
      // Streamed: only this tensor's bytes are held (describeTensors refused entries larger than their tensors need).
      await inflateRange(this.zip, d.entry, byteStart, target, what);
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

// ---------------------------------------------------------------------------------------------
// Pickle vocabulary of torch state dicts

// ---------------------------------------------------------------------------------------------
// Strided layout helpers

