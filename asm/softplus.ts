/**
 * softplus(x) = log(1 + exp(x)) over float32 arrays in WebAssembly SIMD (AssemblyScript source), part of the
 * scan.wasm module (re-exported by scan.ts); driven by src/ops/kernels/simd/softplus.ts.
 *
 * Method, per lane: softplus(x) = max(x, 0) + log1p(e) with e = exp(-|x|) in (0, 1] (expf4), and
 * log1p(e) = 2 atanh(s) for s = e / (2 + e) in (0, 1/3] — no rounding of 1 + e, so tiny e keep their value —
 * with atanh(s) = s (1 + s²/3 + s⁴/5 + … + s¹²/13): the first omitted term is below 1e-8 relative, under
 * float32 rounding. NaN stays NaN; ±Infinity give +Infinity and 0.
 */
import { expf4 } from './expf4';

/** 1/3, 1/5, …, 1/13 and the constants 1 and 2, splatted to four lanes, 16 bytes apart. */
const TABLE: usize = memory.data<f32>([
  1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3,
  1.0 / 5, 1.0 / 5, 1.0 / 5, 1.0 / 5,
  1.0 / 7, 1.0 / 7, 1.0 / 7, 1.0 / 7,
  1.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 9,
  1.0 / 11, 1.0 / 11, 1.0 / 11, 1.0 / 11,
  1.0 / 13, 1.0 / 13, 1.0 / 13, 1.0 / 13,
  1.0, 1.0, 1.0, 1.0,
  2.0, 2.0, 2.0, 2.0,
], 16);

/** softplus of the four lanes of `x`. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function softplusf4(x: v128): v128 {
  const e = expf4(f32x4.neg(f32x4.abs(x))); // (0, 1]
  const two = v128.load(TABLE, 112);
  const s = f32x4.div(e, f32x4.add(two, e)); // (0, 1/3]
  const s2 = f32x4.mul(s, s);
  let p = v128.load(TABLE, 80); // 1/13
  p = f32x4.add(f32x4.mul(p, s2), v128.load(TABLE, 64)); // 1/11
  p = f32x4.add(f32x4.mul(p, s2), v128.load(TABLE, 48)); // 1/9
  p = f32x4.add(f32x4.mul(p, s2), v128.load(TABLE, 32)); // 1/7
  p = f32x4.add(f32x4.mul(p, s2), v128.load(TABLE, 16)); // 1/5
  p = f32x4.add(f32x4.mul(p, s2), v128.load(TABLE, 0)); // 1/3
  p = f32x4.add(f32x4.mul(p, s2), v128.load(TABLE, 96)); // 1
  const log1p = f32x4.mul(f32x4.add(s, s), p);
  return f32x4.add(f32x4.pmax(x, f32x4.splat(0)), log1p);
}

/**
 * dst[i] = softplus(src[i]) for `count` float32 values (vectors, then a scalar tail through one padded lane).
 * @param src (count)
 * @param dst (count)
 */
export function softplusArray(src: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) v128.store(dst + k, softplusf4(v128.load(src + k)));
  for (; k < bytes; k += 4) {
    const r = softplusf4(f32x4.splat(load<f32>(src + k)));
    store<f32>(dst + k, f32x4.extract_lane(r, 0));
  }
}
