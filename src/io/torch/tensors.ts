/**
 * From the unpickled state dict to tensor descriptors (dtype, shape, stride, storage, offset), checked against the
 * storages' sizes; and the strided gather that makes a non-contiguous tensor contiguous.
 */
import * as yauzl from 'yauzl';
import { describePickleValue } from './unpickle';
import { dtypeByteSize } from './dtypes';
import { checkEntryClaim } from './zip';
import { RebuiltTensor, TensorDescriptor } from './pickleGlobals';

/**
 * A tensor's float32 output may take at most this multiple of the file size (plus EXPANSION_SLACK bytes):
 * 4x covers every non-overlapping view (1-byte dtypes widen 4x); more needs a stride-0 (broadcast) view.
 */
export const MAX_EXPANSION = 4;

export const EXPANSION_SLACK = 1 << 20;

/** Tensors of the unpickled root dict, validated against their storage entries (and the file size). */
export function describeTensors(
  root: unknown,
  archive: string,
  entries: ReadonlyMap<string, yauzl.Entry>,
  fileSize: number,
  what: string,
): Map<string, TensorDescriptor> {
  if (!(root instanceof Map)) throw new Error(`${what}: expected data.pkl to hold a dict of tensors, got ${describePickleValue(root)}`);
  const tensors = new Map<string, TensorDescriptor>();
  const neededByEntry = new Map<string, number>();
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
    neededByEntry.set(entryName, Math.max(neededByEntry.get(entryName) ?? 0, needed));
  }
  checkCompressedStorages(entries, neededByEntry, what);
  if (tensors.size === 0) {
    const keys = [...root.keys()].slice(0, 8).map(describePickleValue).join(', ');
    throw new Error(`${what}: expected a state dict of tensors, found none (top-level keys: ${keys || 'none'})`);
  }
  return tensors;
}

/** Slack allowed past what a compressed storage's tensors need (torch pads nothing; this is tolerance). */
export const STORAGE_SLACK = 64 * 1024;

/**
 * A compressed (deflated) storage entry may inflate to no more than its tensors need: torch stores storages
 * uncompressed, so a deflated one larger than its use is a zip bomb (a few MB inflating to GB).
 */
function checkCompressedStorages(entries: ReadonlyMap<string, yauzl.Entry>, needed: ReadonlyMap<string, number>, what: string): void {
  for (const [entryName, need] of needed) {
    const entry = entries.get(entryName)!;
    if (entry.compressionMethod !== 0 && entry.uncompressedSize > need + STORAGE_SLACK) {
      throw new Error(
        `${what}: compressed storage ${entryName} inflates to ${entry.uncompressedSize} bytes, but its tensors need ` +
          `only ${need} (a zip bomb or a corrupt file?)`,
      );
    }
  }
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Number of storage elements spanned by a non-empty strided view: 1 + max offset. */
export function extent(shape: readonly number[], stride: readonly number[]): number {
  let last = 0;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
  return last + 1;
}

/** Row-major contiguity (strides of size-1 dims do not matter). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Copies a strided view (offsets relative to `values[0]`) into a row-major array. */
export function gather(values: Float32Array, shape: readonly number[], stride: readonly number[]): Float32Array {
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
