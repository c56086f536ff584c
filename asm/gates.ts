/**
 * The Mamba block's elementwise gates over float32 arrays in WebAssembly SIMD (AssemblyScript source), part of the
 * scan.wasm module (re-exported by scan.ts, and by threaded.ts for the worker pool); driven by
 * src/ops/kernels/simd/gates.ts. Every kernel runs over `count` floats: vectors of four, then a scalar tail through
 * one lane of the same arithmetic, so any split of the array on multiples of 4 gives the same bits.
 *
 * Method, per lane: e = exp(−x) (expf4), s = σ(x) = 1 / (1 + e); 1 − s is computed as e · s for x ≥ 0 (where
 * 1 − s would round away its small value) and as 1 − s for x < 0 (where s < ½, exactly subtracted).
 * Large |x|: e overflows to +Infinity for x < −88.4 (s = 0) and flushes to 0 for x > 87.3 (s = 1), so no NaN
 * appears for finite x; x is clamped to ±FLT_MAX where it multiplies a factor that vanishes at ±Infinity
 * (silu(−∞) = −0, silu'(−∞) = 0, silu'(+∞) = 1, their limits). NaN stays NaN.
 * Accuracy: s within ~4e-7 relative where it is a normal float32 (x > −87.3), below that it flushes towards 0.
 *
 * Each output is a product in a fixed order so that the fused gate backward equals the single kernels bit for bit:
 *   silu       x · s
 *   siluMul    g · (x · s)
 *   sigmoidMul g · s
 *   siluGrad   dy · (s · (1 + x (1 − s)))
 *   gateGrad   {z, y, dg} → [y · silu(z), dg · silu(z), (dg · y) · (s · (1 + z (1 − s)))], s = σ(z) computed once
 */
import { expf4 } from './expf4';

/** 1, 0, −FLT_MAX, FLT_MAX splatted to four lanes, 16 bytes apart. */
const TABLE: usize = memory.data<f32>([
  1.0, 1.0, 1.0, 1.0,
  0.0, 0.0, 0.0, 0.0,
  -3.4028234663852886e38, -3.4028234663852886e38, -3.4028234663852886e38, -3.4028234663852886e38,
  3.4028234663852886e38, 3.4028234663852886e38, 3.4028234663852886e38, 3.4028234663852886e38,
], 16);

/** Four lanes at p (full) or lane 0 splatted from one float (tail). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function get(p: usize, full: bool): v128 {
  return full ? v128.load(p) : f32x4.splat(load<f32>(p));
}

/** Stores four lanes at p (full) or lane 0 (tail). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function put(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else store<f32>(p, f32x4.extract_lane(v, 0));
}

/** σ of the four lanes of x, from e = exp(−x): 1 / (1 + e). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function sigmoidOf(e: v128): v128 {
  const one = v128.load(TABLE, 0);
  return f32x4.div(one, f32x4.add(one, e));
}

/** σ(x) of the four lanes (exported for the other kernels' use; see the module comment for edge values). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function sigmoidf4(x: v128): v128 {
  return sigmoidOf(expf4(f32x4.neg(x)));
}

/** x clamped below at −FLT_MAX (NaN stays NaN): −∞ · σ(−∞) = −∞ · 0 would be NaN. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function lowClamp(x: v128): v128 {
  return f32x4.pmax(x, v128.load(TABLE, 32));
}

/** silu's derivative factor s · (1 + x (1 − s)) from x, e = exp(−x) and s = σ(x). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function dsiluOf(x: v128, e: v128, s: v128): v128 {
  const one = v128.load(TABLE, 0);
  const oneMinus = v128.bitselect(f32x4.sub(one, s), f32x4.mul(e, s), f32x4.lt(x, v128.load(TABLE, 16)));
  const xb = f32x4.pmin(lowClamp(x), v128.load(TABLE, 48)); // ±∞ → ±FLT_MAX: ∞ · 0 would be NaN
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(xb, oneMinus)));
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function siluAt(x: usize, dst: usize, k: usize, full: bool): void {
  const v = get(x + k, full);
  put(dst + k, f32x4.mul(lowClamp(v), sigmoidf4(v)), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function siluMulAt(x: usize, g: usize, dst: usize, k: usize, full: bool): void {
  const v = get(x + k, full);
  put(dst + k, f32x4.mul(get(g + k, full), f32x4.mul(lowClamp(v), sigmoidf4(v))), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function sigmoidMulAt(x: usize, g: usize, dst: usize, k: usize, full: bool): void {
  put(dst + k, f32x4.mul(get(g + k, full), sigmoidf4(get(x + k, full))), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function siluGradAt(x: usize, dy: usize, dst: usize, k: usize, full: bool): void {
  const v = get(x + k, full);
  const e = expf4(f32x4.neg(v));
  put(dst + k, f32x4.mul(get(dy + k, full), dsiluOf(v, e, sigmoidOf(e))), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function gateGradAt(z: usize, y: usize, dg: usize, g: usize, dy: usize, dz: usize, k: usize, full: bool): void {
  const v = get(z + k, full);
  const yv = get(y + k, full);
  const dgv = get(dg + k, full);
  const e = expf4(f32x4.neg(v));
  const s = sigmoidOf(e);
  const sz = f32x4.mul(lowClamp(v), s); // silu(z)
  put(g + k, f32x4.mul(yv, sz), full);
  put(dy + k, f32x4.mul(dgv, sz), full);
  put(dz + k, f32x4.mul(f32x4.mul(dgv, yv), dsiluOf(v, e, s)), full);
}

/**
 * dst[i] = silu(x[i]) = x σ(x) for `count` floats.
 * @param x   (count)
 * @param dst (count)
 */
export function siluArray(x: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) siluAt(x, dst, k, true);
  for (; k < bytes; k += 4) siluAt(x, dst, k, false);
}

/**
 * dst[i] = g[i] · silu(x[i]) for `count` floats.
 * @param x   (count)
 * @param g   (count)
 * @param dst (count)
 */
export function siluMulArray(x: usize, g: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) siluMulAt(x, g, dst, k, true);
  for (; k < bytes; k += 4) siluMulAt(x, g, dst, k, false);
}

/**
 * dst[i] = g[i] · σ(x[i]) for `count` floats (softplus's gradient).
 * @param x   (count)
 * @param g   (count)
 * @param dst (count)
 */
export function sigmoidMulArray(x: usize, g: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) sigmoidMulAt(x, g, dst, k, true);
  for (; k < bytes; k += 4) sigmoidMulAt(x, g, dst, k, false);
}

/**
 * dst[i] = dy[i] · silu'(x[i]) = dy σ(x)(1 + x(1 − σ(x))) for `count` floats.
 * @param x   (count)
 * @param dy  (count)
 * @param dst (count)
 */
export function siluGradArray(x: usize, dy: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) siluGradAt(x, dy, dst, k, true);
  for (; k < bytes; k += 4) siluGradAt(x, dy, dst, k, false);
}

/**
 * The gate out = y · silu(z) backward, for `count` floats: g = y · silu(z) (out_proj's input, for its weight
 * gradient), dy = dg · silu(z), dz = (dg · y) · silu'(z); σ(z) once.
 * @param z  (count)
 * @param y  (count)
 * @param dg (count) gradient of the gate's output
 * @param g  (count) output
 * @param dy (count) output
 * @param dz (count) output
 */
export function gateGradArray(z: usize, y: usize, dg: usize, g: usize, dy: usize, dz: usize, count: i32): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) gateGradAt(z, y, dg, g, dy, dz, k, true);
  for (; k < bytes; k += 4) gateGradAt(z, y, dg, g, dy, dz, k, false);
}
