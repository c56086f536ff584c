/**
 * Vector helpers shared by the SIMD kernels (asm/scanRange.ts, asm/ssd.ts), all inlined where called.
 * Pointers are byte offsets into the module's memory, 16-byte aligned; counts are multiples of 4.
 */

/** Sum of the four float32 lanes, in float64. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function hsum(v: v128): f64 {
  return (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1))
    + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
}

/** dst[k] += src[k] for `count` float32 src values into float64 dst. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function addF32ToF64(dst: usize, src: usize, count: i32): void {
  const bytes = <usize>count << 2;
  for (let k: usize = 0; k < bytes; k += 16) {
    const v = v128.load(src + k);
    const d = dst + (k << 1);
    v128.store(d, f64x2.add(v128.load(d), f64x2.promote_low_f32x4(v)));
    v128.store(d, f64x2.add(v128.load(d, 16), f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0))), 16);
  }
}

/** dst[k] = f32(src[k]) for `count` float64 src values. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function demoteF64(dst: usize, src: usize, count: i32): void {
  const bytes = <usize>count << 2;
  for (let k: usize = 0; k < bytes; k += 16) {
    const lo = f32x4.demote_f64x2_zero(v128.load(src + (k << 1)));
    const hi = f32x4.demote_f64x2_zero(v128.load(src + (k << 1), 16));
    v128.store(dst + k, i64x2.shuffle(lo, hi, 0, 2));
  }
}
