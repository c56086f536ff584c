/**
 * The Mamba block's elementwise gates over float32 arrays in WebAssembly SIMD (AssemblyScript source), part of two
 * modules: scan.wasm (re-exported by scan.ts, and by threaded.ts for the worker pool; driven by
 * src/ops/kernels/simd/gates.ts, which copies the arrays in and out: the cpu backend) and the in-heap module
 * (asm/int8.ts; driven by src/ops/kernels/gates.ts over tfjs-backend-wasm's own heap, no copies). Every kernel runs
 * over `count` floats, its constants in a table at `tbl` (fillGateTable; the in-heap module may carry no data
 * segment): vectors of four, then a scalar tail through one lane of the same arithmetic, so any split of the array on
 * multiples of 4 gives the same bits.
 *
 * Method, per lane: e = exp(−x) (expf4's method, asm/step.ts expLanes), s = σ(x) = 1 / (1 + e); 1 − s is computed as e · s for x ≥ 0 (where
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
import { expLanes, fillTable } from './step';

/** Bytes of the constants table every kernel reads at `tbl` (the caller's allocation, filled by fillGateTable). */
export const GATE_TABLE_BYTES: i32 = 240;

/**
 * Fills the table at tbl: exp's 12 constants (asm/step.ts fillTable, 1.0 at 176), then 0, −FLT_MAX and FLT_MAX
 * splatted at 192, 208 and 224. The constants live in a caller's table, not a data segment, so that the in-heap
 * module (asm/int8.ts, over tfjs's heap) can carry these kernels too.
 */
export function fillGateTable(tbl: usize): void {
  fillTable(tbl);
  v128.store(tbl, f32x4.splat(0), 192);
  v128.store(tbl, f32x4.splat(-3.4028234663852886e38), 208);
  v128.store(tbl, f32x4.splat(3.4028234663852886e38), 224);
}

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
function sigmoidOf(e: v128, tbl: usize): v128 {
  const one = v128.load(tbl, 176);
  return f32x4.div(one, f32x4.add(one, e));
}

/** σ(x) of the four lanes (exported for the other kernels' use; see the module comment for edge values). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function sigmoidf4(x: v128, tbl: usize): v128 {
  return sigmoidOf(expLanes(f32x4.neg(x), tbl), tbl);
}

/** x clamped below at −FLT_MAX (NaN stays NaN): −∞ · σ(−∞) = −∞ · 0 would be NaN. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function lowClamp(x: v128, tbl: usize): v128 {
  return f32x4.pmax(x, v128.load(tbl, 208));
}

/** silu's derivative factor s · (1 + x (1 − s)) from x, e = exp(−x) and s = σ(x). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function dsiluOf(x: v128, e: v128, s: v128, tbl: usize): v128 {
  const one = v128.load(tbl, 176);
  const oneMinus = v128.bitselect(f32x4.sub(one, s), f32x4.mul(e, s), f32x4.lt(x, v128.load(tbl, 192)));
  const xb = f32x4.pmin(lowClamp(x, tbl), v128.load(tbl, 224)); // ±∞ → ±FLT_MAX: ∞ · 0 would be NaN
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(xb, oneMinus)));
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function siluAt(x: usize, dst: usize, k: usize, full: bool, tbl: usize): void {
  const v = get(x + k, full);
  put(dst + k, f32x4.mul(lowClamp(v, tbl), sigmoidf4(v, tbl)), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function siluMulAt(x: usize, g: usize, dst: usize, k: usize, full: bool, tbl: usize): void {
  const v = get(x + k, full);
  put(dst + k, f32x4.mul(get(g + k, full), f32x4.mul(lowClamp(v, tbl), sigmoidf4(v, tbl))), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function sigmoidMulAt(x: usize, g: usize, dst: usize, k: usize, full: bool, tbl: usize): void {
  put(dst + k, f32x4.mul(get(g + k, full), sigmoidf4(get(x + k, full), tbl)), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function siluGradAt(x: usize, dy: usize, dst: usize, k: usize, full: bool, tbl: usize): void {
  const v = get(x + k, full);
  const e = expLanes(f32x4.neg(v), tbl);
  put(dst + k, f32x4.mul(get(dy + k, full), dsiluOf(v, e, sigmoidOf(e, tbl), tbl)), full);
}

// @ts-ignore: decorator valid in AssemblyScript
@inline
function gateGradAt(z: usize, y: usize, dg: usize, g: usize, dy: usize, dz: usize, k: usize, full: bool, tbl: usize): void {
  const v = get(z + k, full);
  const yv = get(y + k, full);
  const dgv = get(dg + k, full);
  const e = expLanes(f32x4.neg(v), tbl);
  const s = sigmoidOf(e, tbl);
  const sz = f32x4.mul(lowClamp(v, tbl), s); // silu(z)
  put(g + k, f32x4.mul(yv, sz), full);
  put(dy + k, f32x4.mul(dgv, sz), full);
  put(dz + k, f32x4.mul(f32x4.mul(dgv, yv), dsiluOf(v, e, s, tbl)), full);
}

/**
 * dst[i] = silu(x[i]) = x σ(x) for `count` floats.
 * @param x   (count)
 * @param dst (count)
 * @param tbl GATE_TABLE_BYTES of constants (fillGateTable)
 */
export function siluArray(x: usize, dst: usize, count: i32, tbl: usize): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) siluAt(x, dst, k, true, tbl);
  for (; k < bytes; k += 4) siluAt(x, dst, k, false, tbl);
}

/**
 * dst[i] = g[i] · silu(x[i]) for `count` floats.
 * @param x   (count)
 * @param g   (count)
 * @param dst (count)
 */
export function siluMulArray(x: usize, g: usize, dst: usize, count: i32, tbl: usize): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) siluMulAt(x, g, dst, k, true, tbl);
  for (; k < bytes; k += 4) siluMulAt(x, g, dst, k, false, tbl);
}

/**
 * dst[i] = g[i] · σ(x[i]) for `count` floats (softplus's gradient).
 * @param x   (count)
 * @param g   (count)
 * @param dst (count)
 */
export function sigmoidMulArray(x: usize, g: usize, dst: usize, count: i32, tbl: usize): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) sigmoidMulAt(x, g, dst, k, true, tbl);
  for (; k < bytes; k += 4) sigmoidMulAt(x, g, dst, k, false, tbl);
}

/**
 * dst[i] = dy[i] · silu'(x[i]) = dy σ(x)(1 + x(1 − σ(x))) for `count` floats.
 * @param x   (count)
 * @param dy  (count)
 * @param dst (count)
 */
export function siluGradArray(x: usize, dy: usize, dst: usize, count: i32, tbl: usize): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) siluGradAt(x, dy, dst, k, true, tbl);
  for (; k < bytes; k += 4) siluGradAt(x, dy, dst, k, false, tbl);
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
export function gateGradArray(z: usize, y: usize, dg: usize, g: usize, dy: usize, dz: usize, count: i32, tbl: usize): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) gateGradAt(z, y, dg, g, dy, dz, k, true, tbl);
  for (; k < bytes; k += 4) gateGradAt(z, y, dg, g, dy, dz, k, false, tbl);
}
