/**
 * Element types of torch checkpoints: the legacy storage class names that `torch.save` pickles
 * (`torch.FloatStorage`, ...), their byte sizes, and conversion of raw storage bytes to float32.
 */
import { float16BitsToFloat32, bf16BitsToFloat32 } from '../safetensors/halfFloat';

/** Element type of a stored tensor (safetensors-style names). */
export type TorchDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** `torch.<Name>Storage` class name -> element type, as pickled by `torch.save`. */
export const TORCH_STORAGE_DTYPES: ReadonlyMap<string, TorchDtype> = new Map<string, TorchDtype>([
  ['FloatStorage', 'F32'],
  ['HalfStorage', 'F16'],
  ['BFloat16Storage', 'BF16'],
  ['DoubleStorage', 'F64'],
  ['LongStorage', 'I64'],
  ['IntStorage', 'I32'],
  ['ShortStorage', 'I16'],
  ['CharStorage', 'I8'],
  ['ByteStorage', 'U8'],
  ['BoolStorage', 'BOOL'],
]);

/** `torch.<dtype>` names (as they may appear as pickle globals) -> element type. */
export const TORCH_DTYPE_NAMES: ReadonlyMap<string, TorchDtype> = new Map<string, TorchDtype>([
  ['float32', 'F32'], ['float', 'F32'], ['float16', 'F16'], ['half', 'F16'], ['bfloat16', 'BF16'],
  ['float64', 'F64'], ['double', 'F64'], ['int64', 'I64'], ['long', 'I64'], ['int32', 'I32'], ['int', 'I32'],
  ['int16', 'I16'], ['short', 'I16'], ['int8', 'I8'], ['uint8', 'U8'], ['bool', 'BOOL'],
]);

const BYTE_SIZES: Record<TorchDtype, number> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Bytes per element of `dtype`. */
export function dtypeByteSize(dtype: TorchDtype): number {
  return BYTE_SIZES[dtype];
}

/** Whether this platform stores typed arrays little-endian (true on every current JS engine we target). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts `count` consecutive elements of type `dtype` from raw bytes to float32.
 *
 * @param bytes Raw element bytes; at least `count * dtypeByteSize(dtype)` long.
 * @param dtype Element type of the bytes.
 * @param littleEndian Byte order of the bytes (torch archives record it in `byteorder`).
 * @returns A new Float32Array of `count` values (64-bit integers beyond 2^24 lose precision).
 * @throws Error when `bytes` is too short.
 */
export function bytesToFloat32(bytes: Uint8Array, dtype: TorchDtype, littleEndian = true): Float32Array {
  const size = dtypeByteSize(dtype);
  if (bytes.length % size !== 0) {
    throw new Error(`bytesToFloat32: expected a multiple of ${size} bytes for ${dtype}, got ${bytes.length}`);
  }
  const count = bytes.length / size;
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case 'F32':
      if (le === HOST_LITTLE_ENDIAN) out.set(asFloat32(bytes, count));
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, le);
      return out;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, le);
      return out;
    case 'F16':
      return float16BitsToFloat32(uint16Bits(bytes, view, count, le), out);
    case 'BF16':
      return bf16BitsToFloat32(uint16Bits(bytes, view, count, le), out);
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, le));
      return out;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, le);
      return out;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, le);
      return out;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    case 'U8':
    case 'BOOL':
      out.set(bytes);
      return out;
  }
}

/** A float32 view of host-order bytes (copied first when not 4-byte aligned). */
function asFloat32(bytes: Uint8Array, count: number): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  return new Float32Array(bytes.slice().buffer, 0, count);
}

/** The 16-bit words of `bytes` in host order (a view when possible, else a converted copy). */
function uint16Bits(bytes: Uint8Array, view: DataView, count: number, littleEndian: boolean): Uint16Array {
  if (littleEndian === HOST_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  }
  const bits = new Uint16Array(count);
  for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, littleEndian);
  return bits;
}
