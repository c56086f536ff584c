/**
 * Conversions between float32 and the two 16-bit float formats found in checkpoints:
 * IEEE 754 binary16 ("F16", 1 sign / 5 exponent / 10 mantissa bits) and bfloat16
 * ("BF16", the upper 16 bits of a float32). Encoding rounds to nearest, ties to even;
 * NaN stays NaN (quiet), overflow becomes ±Infinity, tiny F16 values become subnormals or ±0.
 *
 * Every function takes an optional `out` array so that large tensors can be converted in
 * chunks without allocating a second full-size buffer.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Checks that `out` (if given) has exactly `n` elements, else allocates one. */
function outputFor<T>(out: T | undefined, n: number, make: (n: number) => T, what: string): T {
  if (out === undefined) return make(n);
  const len = (out as unknown as { length: number }).length;
  if (len !== n) throw new Error(`${what}: output array has ${len} elements, expected ${n} (the input length)`);
  return out;
}

/** Encodes one float32 bit pattern as binary16 bits (round to nearest even). */
function halfBitsOf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp32 = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp32 === 0xff) {
    // Infinity stays infinity; NaN keeps its top payload bits and is forced quiet.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const exp = exp32 - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00; // |x| >= 2^16: overflows to infinity
  if (exp <= 0) {
    // Result is a binary16 subnormal (or zero): shift the full 24-bit significand down.
    if (exp < -10) return sign; // |x| < 2^-25 rounds to zero
    mant |= 0x800000;
    const shift = 14 - exp;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Decodes binary16 bits to the float32 bit pattern of the same (exactly representable) value. */
function floatBitsOfHalf(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: value = mant * 2^-24, exact in float32.
  scratchF32[0] = mant * 2 ** -24;
  return (sign | scratchU32[0]) >>> 0;
}

let halfTable: Float32Array | null = null;

/** Lazily built 65536-entry table (256 KiB) mapping binary16 bits to float32 values. */
function halfToFloatTable(): Float32Array {
  if (halfTable === null) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = floatBitsOfHalf(h);
    halfTable = new Float32Array(bits.buffer);
  }
  return halfTable;
}

/**
 * Encodes float32 values as IEEE binary16 bit patterns.
 * @param src values to encode
 * @param out optional destination with `src.length` elements
 */
export function float32ToFloat16Bits(src: Float32Array, out?: Uint16Array): Uint16Array {
  const dst = outputFor(out, src.length, (n) => new Uint16Array(n), 'float32ToFloat16Bits');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = halfBitsOf(bits[i]);
  return dst;
}

/**
 * Decodes IEEE binary16 bit patterns to float32 (exact: every binary16 value is a float32).
 * @param src binary16 bit patterns
 * @param out optional destination with `src.length` elements
 */
export function float16BitsToFloat32(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = outputFor(out, src.length, (n) => new Float32Array(n), 'float16BitsToFloat32');
  const table = halfToFloatTable();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
  return dst;
}

/**
 * Encodes float32 values as bfloat16 bit patterns (round to nearest even; NaN stays a quiet NaN).
 * @param src values to encode
 * @param out optional destination with `src.length` elements
 */
export function float32ToBF16Bits(src: Float32Array, out?: Uint16Array): Uint16Array {
  const dst = outputFor(out, src.length, (n) => new Uint16Array(n), 'float32ToBF16Bits');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) {
      dst[i] = (b >>> 16) | 0x40;
    } else {
      // Adding 0x7fff plus the lowest kept bit rounds ties to even; the carry may reach infinity.
      dst[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  }
  return dst;
}

/**
 * Decodes bfloat16 bit patterns to float32 (exact).
 * @param src bfloat16 bit patterns
 * @param out optional destination with `src.length` elements
 */
export function bf16BitsToFloat32(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = outputFor(out, src.length, (n) => new Float32Array(n), 'bf16BitsToFloat32');
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return dst;
}
