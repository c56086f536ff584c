/**
 * int8 weight × float32 activation products in WebAssembly SIMD (AssemblyScript source): the kernels of
 * int8-quantized models (decode matvec and prefill matmul). Compiled on its own by `npm run build:wasm`
 * (scripts/embed-wasm.js) with an IMPORTED memory and no data segments, so that src/ops/kernels/simd/int8.ts can
 * instantiate it over tfjs-backend-wasm's own heap and read the weights where they lie (no copy per call).
 *
 * Shape glossary (row-major):
 *   M  rows of activations (B·L; 1 when decoding one token)
 *   I  input features
 *   O  output features (rows of the weight)
 *   RB bytes per weight row: I rounded up to a multiple of 4 (the weight is stored as int32 words, 4 int8 each)
 *
 * y[m, o] = sx[m] · scale[o] · Σ_i x16[m, i] · q[o, i]  (+ bias[o])
 *
 * Method: activations come and go as float32; inside the product each row of x is rounded to 16-bit fixed point
 * with its own scale sx[m] = max|x[m]| / 32767 (error ≤ 2⁻¹⁶ of the row's largest |x|, two orders below the
 * int8 weights' own rounding). Then 16 weights cost one load, two widenings and two i32x4.dot_i16x8_s: about a
 * third of the work of widening them to float32, so the product runs at memory speed. The int32 partial sums are
 * flushed to float32 every 2048 inputs (|q·x16| ≤ 127·32767: 2048 terms stay below 2³¹).
 */

/** Inputs summed in int32 before a flush to float32. */
const FLUSH: i32 = 2048;

/**
 * Rounds each row of x to 16-bit fixed point: x16[m, i] = round(x[m, i] / sx[m]).
 * @param x   (M, I) float32
 * @param x16 (M, I) int16 out
 * @param sx  (M) float32 out: the row scales (1 for an all-zero row)
 */
export function int8QuantizeRows(x: usize, x16: usize, sx: usize, M: i32, I: i32): void {
  for (let m = 0; m < M; m++) {
    const xm = x + ((<usize>m * <usize>I) << 2);
    let mx: f32 = 0;
    for (let i = 0; i < I; i++) mx = max(mx, abs(load<f32>(xm + (<usize>i << 2))));
    const s: f32 = mx > 0 ? mx / 32767 : 1;
    const inv: f32 = 1 / s;
    store<f32>(sx + (<usize>m << 2), s);
    const dm = x16 + ((<usize>m * <usize>I) << 1);
    for (let i = 0; i < I; i++) store<i16>(dm + (<usize>i << 1), <i16>(<i32>nearest(load<f32>(xm + (<usize>i << 2)) * inv)));
  }
}

/** acc += the products of 16 int8 weights `w` with 16 int16 activations at `x`, as two i32x4. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function dotLo(acc: v128, w: v128, x: usize): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), v128.load(x)));
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function dotHi(acc: v128, w: v128, x: usize): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), v128.load(x, 16)));
}

/** Sum of the four float32 lanes. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function lanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Σ_{from ≤ i < to} x16[i]·q[i] in int32 (the scalar tail of a row). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function tail(x: usize, q: usize, from: i32, to: i32): i32 {
  let s: i32 = 0;
  for (let i = from; i < to; i++) s += <i32>load<i16>(x + (<usize>i << 1)) * <i32>load<i8>(q + <usize>i);
  return s;
}

/** Writes y[m, o] = acc·sx[m]·scale[o] + bias[o]. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function put(y: usize, sx: usize, m: i32, o: i32, O: i32, acc: f32, s: f32, b: f32): void {
  store<f32>(y + ((<usize>m * <usize>O + <usize>o) << 2), acc * load<f32>(sx + (<usize>m << 2)) * s + b);
}

/** The M = 1 case (decode): two weight vectors per step, two accumulators. */
function matVec(x0: usize, sx: usize, q: usize, scale: usize, bias: usize, y: usize, I: i32, O: i32, RB: i32): void {
  const vecEnd = I & ~15;
  const pairEnd = I & ~31;
  for (let o = 0; o < O; o++) {
    const qo = q + <usize>o * <usize>RB;
    let f0 = f32x4.splat(0);
    let i = 0;
    while (i < vecEnd) {
      const end = min(pairEnd, i + FLUSH);
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      for (; i < end; i += 32) {
        const w0 = v128.load(qo + <usize>i);
        const w1 = v128.load(qo + <usize>i, 16);
        const off = x0 + (<usize>i << 1);
        a0 = dotHi(dotLo(a0, w0, off), w0, off);
        a1 = dotHi(dotLo(a1, w1, off + 32), w1, off + 32);
      }
      if (end === pairEnd && i < vecEnd) {
        const w0 = v128.load(qo + <usize>i);
        a0 = dotHi(dotLo(a0, w0, x0 + (<usize>i << 1)), w0, x0 + (<usize>i << 1));
        i += 16;
      }
      f0 = f32x4.add(f0, f32x4.convert_i32x4_s(i32x4.add(a0, a1)));
    }
    const b: f32 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
    put(y, sx, 0, o, O, lanes(f0) + <f32>tail(x0, qo, vecEnd, I), load<f32>(scale + (<usize>o << 2)), b);
  }
}

/**
 * y (M, O) = x (M, I) · dequant(q (O, I))ᵀ [+ bias], x given as int8QuantizeRows left it. Rows of x go four at
 * a time, so each loaded weight vector serves four rows (prefill); M = 1 is the decode matvec.
 * @param x16   (M, I) int16, from int8QuantizeRows
 * @param sx    (M) float32 row scales
 * @param q     (O, RB) int8, row o at q + o·RB
 * @param scale (O) float32 weight row scales
 * @param bias  (O) float32, or 0 for none
 * @param y     (M, O) float32 out
 */
export function int8MatMul(x16: usize, sx: usize, q: usize, scale: usize, bias: usize, y: usize, M: i32, I: i32, O: i32, RB: i32): void {
  if (M === 1) {
    matVec(x16, sx, q, scale, bias, y, I, O, RB);
    return;
  }
  const vecEnd = I & ~15;
  const xRow = <usize>I << 1;
  for (let m = 0; m < M; m += 4) {
    const rows = min(4, M - m);
    const x0 = x16 + <usize>m * xRow;
    // Rows past M repeat the last row (computed, not stored) so that the loop body stays branch-free.
    const x1 = rows > 1 ? x0 + xRow : x0;
    const x2 = rows > 2 ? x1 + xRow : x1;
    const x3 = rows > 3 ? x2 + xRow : x2;
    for (let o = 0; o < O; o++) {
      const qo = q + <usize>o * <usize>RB;
      let f0 = f32x4.splat(0);
      let f1 = f32x4.splat(0);
      let f2 = f32x4.splat(0);
      let f3 = f32x4.splat(0);
      for (let i = 0; i < vecEnd;) {
        const end = min(vecEnd, i + FLUSH);
        let a0 = i32x4.splat(0);
        let a1 = i32x4.splat(0);
        let a2 = i32x4.splat(0);
        let a3 = i32x4.splat(0);
        for (; i < end; i += 16) {
          const w = v128.load(qo + <usize>i);
          const off = <usize>i << 1;
          a0 = dotHi(dotLo(a0, w, x0 + off), w, x0 + off);
          if (rows > 1) {
            a1 = dotHi(dotLo(a1, w, x1 + off), w, x1 + off);
            a2 = dotHi(dotLo(a2, w, x2 + off), w, x2 + off);
            a3 = dotHi(dotLo(a3, w, x3 + off), w, x3 + off);
          }
        }
        f0 = f32x4.add(f0, f32x4.convert_i32x4_s(a0));
        f1 = f32x4.add(f1, f32x4.convert_i32x4_s(a1));
        f2 = f32x4.add(f2, f32x4.convert_i32x4_s(a2));
        f3 = f32x4.add(f3, f32x4.convert_i32x4_s(a3));
      }
      const s = load<f32>(scale + (<usize>o << 2));
      const b: f32 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
      put(y, sx, m, o, O, lanes(f0) + <f32>tail(x0, qo, vecEnd, I), s, b);
      if (rows > 1) put(y, sx, m + 1, o, O, lanes(f1) + <f32>tail(x1, qo, vecEnd, I), s, b);
      if (rows > 2) put(y, sx, m + 2, o, O, lanes(f2) + <f32>tail(x2, qo, vecEnd, I), s, b);
      if (rows > 3) put(y, sx, m + 3, o, O, lanes(f3) + <f32>tail(x3, qo, vecEnd, I), s, b);
    }
  }
}

/**
 * Streams `bytes` bytes (a multiple of 64) from p and returns a checksum: the benchmark's read-bandwidth probe.
 */
export function int8StreamRead(p: usize, bytes: usize): i32 {
  let a = i32x4.splat(0);
  let b = i32x4.splat(0);
  let c = i32x4.splat(0);
  let d = i32x4.splat(0);
  for (let k: usize = 0; k < bytes; k += 64) {
    a = i32x4.add(a, v128.load(p + k));
    b = i32x4.add(b, v128.load(p + k, 16));
    c = i32x4.add(c, v128.load(p + k, 32));
    d = i32x4.add(d, v128.load(p + k, 48));
  }
  const s = i32x4.add(i32x4.add(a, b), i32x4.add(c, d));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}
export { selectiveStepSimd, negExpArray } from './step';
export { mixerConvSilu, mixerProjectF32, mixerProjectF32Strided, mixerScanGate, rmsNormRows, softplusHeapArray } from './mixerStep';
export { transposeRows, sumColumns } from './layout';
export { rmsNormalizeRows, rmsNormalizeGradRows } from './rmsNorm';
export { fillGateTable, siluArray, siluMulArray, sigmoidMulArray, siluGradArray, gateGradArray } from './gates';
