/**
 * RMS normalization over the last axis, forward and gradient, for rows [m0, m1) of (M, D) float32 arrays in
 * WebAssembly SIMD (AssemblyScript source), part of the in-heap module (asm/int8.ts: run in place in tfjs-backend-wasm's
 * heap, split by rows over the heap pool when the heap is shared; src/ops/kernels/rmsNormalize.ts):
 *   y  = x · r,                         r = (mean(x²) + eps)^−½
 *   dx = r · (dy − y · mean(dy · y))    (the gradient of sum(y · dy))
 * Per row, the sums run in four float32 lanes (then the tail), added up in float64; r in float64, rounded once.
 * Each row's arithmetic does not depend on the split, so every split gives the same bits.
 *
 * eps comes as the bits of a float32 (epsBits): the heap pool passes its arguments as int32.
 *
 * Shape glossary: M rows, D the normalized axis. Pointers are byte offsets into the heap.
 */
import { hsum } from './vec';

/** Σ a[i] · b[i] over the D floats of a row: four lanes, then the tail, in float64 at the end. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function dotRow(a: usize, b: usize, D: i32): f64 {
  const bytes = <usize>D << 2;
  const vec = bytes & ~(<usize>15);
  let acc = f32x4.splat(0);
  let k: usize = 0;
  for (; k < vec; k += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(a + k), v128.load(b + k)));
  let s = hsum(acc);
  for (; k < bytes; k += 4) s += <f64>(load<f32>(a + k) * load<f32>(b + k));
  return s;
}

/** r = (mean(x²) + eps)^−½ of one row. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function rowScale(x: usize, D: i32, eps: f32): f32 {
  return <f32>(1.0 / Math.sqrt(dotRow(x, x, D) / <f64>D + <f64>eps));
}

/** y = x · r for the rows [m0, m1) of x (M, D) into y (M, D). */
export function rmsNormalizeRows(x: usize, y: usize, D: i32, epsBits: i32, m0: i32, m1: i32): void {
  const eps = reinterpret<f32>(epsBits);
  const rowBytes = <usize>D << 2;
  for (let m = m0; m < m1; m++) {
    const xm = x + <usize>m * rowBytes;
    const ym = y + <usize>m * rowBytes;
    const r = rowScale(xm, D, eps);
    const rv = f32x4.splat(r);
    const vec = rowBytes & ~(<usize>15);
    let k: usize = 0;
    for (; k < vec; k += 16) v128.store(ym + k, f32x4.mul(v128.load(xm + k), rv));
    for (; k < rowBytes; k += 4) store<f32>(ym + k, load<f32>(xm + k) * r);
  }
}

/** dx = r · (dy − y · mean(dy · y)), y = x · r, for the rows [m0, m1) of x, dy (M, D) into dx (M, D). */
export function rmsNormalizeGradRows(x: usize, dy: usize, dx: usize, D: i32, epsBits: i32, m0: i32, m1: i32): void {
  const eps = reinterpret<f32>(epsBits);
  const rowBytes = <usize>D << 2;
  for (let m = m0; m < m1; m++) {
    const o = <usize>m * rowBytes;
    const xm = x + o;
    const dym = dy + o;
    const dxm = dx + o;
    const r = rowScale(xm, D, eps);
    const s = <f32>((dotRow(dym, xm, D) * <f64>r) / <f64>D); // mean(dy · y) = r · mean(dy · x)
    const rv = f32x4.splat(r);
    const sv = f32x4.splat(s);
    const vec = rowBytes & ~(<usize>15);
    let k: usize = 0;
    for (; k < vec; k += 16) {
      const yv = f32x4.mul(v128.load(xm + k), rv);
      v128.store(dxm + k, f32x4.mul(rv, f32x4.sub(v128.load(dym + k), f32x4.mul(yv, sv))));
    }
    for (; k < rowBytes; k += 4) store<f32>(dxm + k, r * (load<f32>(dym + k) - load<f32>(xm + k) * r * s));
  }
}
