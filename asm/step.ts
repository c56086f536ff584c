/**
 * One selective-scan decoding step in WebAssembly SIMD (AssemblyScript source), part of the in-heap module
 * (asm/int8.ts re-exports it): run over tfjs-backend-wasm's own memory by src/ops/kernels/stepWasm.ts, no copies.
 * Same arithmetic as src/ops/kernels/js/stepMath.ts selectiveStepLoop, four lanes of N at a time:
 *   h' = exp(Δ·A) · h + Δ·x·B,   y = h' · C + D·x
 *
 * Shape glossary: B batch, ED inner channels, N state size (a multiple of 4 here; the caller checks).
 * Pointers are byte offsets; all arrays float32, row-major: h, hOut (B, ED, N), x, delta, y (B, ED), A (ED, N),
 * Bm, Cm (B, N), D (ED).
 *
 * exp is the method of asm/expf4.ts (Cody-Waite reduction, degree-4 polynomial, the shifter trick; relative error
 * ≤ 2e-7 for normal results, 0 below −87.33), with its constants in a table the CALLER provides (`tbl`, 192 bytes
 * of its own allocation, filled here): this module runs over tfjs's heap and so may carry no data segment.
 */

/** Fills the 12 splatted exp constants at tbl (16 bytes apart, in expf4.ts's order). */
export function fillTable(tbl: usize): void {
  v128.store(tbl, f32x4.splat(-87.33654)); // 0: lowest x with a normal result
  v128.store(tbl, f32x4.splat(88.8), 16); // 16: high clamp
  v128.store(tbl, f32x4.splat(1.44269504), 32); // 32: log2 e
  v128.store(tbl, f32x4.splat(12582912.0), 48); // 48: shifter 1.5·2^23
  v128.store(tbl, f32x4.splat(0.693359375), 64); // 64: ln 2 head
  v128.store(tbl, f32x4.splat(-2.12194440e-4), 80); // 80: ln 2 tail
  v128.store(tbl, f32x4.splat(0.499999940), 96); // 96..160: q0..q4
  v128.store(tbl, f32x4.splat(0.166665152), 112);
  v128.store(tbl, f32x4.splat(0.0416684560), 128);
  v128.store(tbl, f32x4.splat(0.00836941320), 144);
  v128.store(tbl, f32x4.splat(0.00138131692), 160);
  v128.store(tbl, f32x4.splat(1.0), 176); // 176: one
}

/** exp of the four lanes of x, constants at tbl. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function expLanes(x: v128, tbl: usize): v128 {
  const xMin = v128.load(tbl);
  const one = v128.load(tbl, 176);
  const xc = f32x4.pmin(f32x4.pmax(x, xMin), v128.load(tbl, 16));
  const shifted = f32x4.add(f32x4.mul(xc, v128.load(tbl, 32)), v128.load(tbl, 48));
  const kf = f32x4.sub(shifted, v128.load(tbl, 48));
  let r = f32x4.sub(xc, f32x4.mul(kf, v128.load(tbl, 64)));
  r = f32x4.sub(r, f32x4.mul(kf, v128.load(tbl, 80)));
  let q = f32x4.add(f32x4.mul(v128.load(tbl, 160), r), v128.load(tbl, 144));
  q = f32x4.add(f32x4.mul(q, r), v128.load(tbl, 128));
  q = f32x4.add(f32x4.mul(q, r), v128.load(tbl, 112));
  q = f32x4.add(f32x4.mul(q, r), v128.load(tbl, 96));
  const p = f32x4.add(one, f32x4.add(r, f32x4.mul(f32x4.mul(r, r), q)));
  const scale = i32x4.add(i32x4.shl(shifted, 23), one);
  return v128.andnot(f32x4.mul(p, scale), f32x4.lt(x, xMin));
}

/**
 * One channel's update over its N states (nBytes = 4N): h' = exp(Δ·A)·h + Δ·x·B, stored at hOut; returns Σ h'·C (the
 * output before the D skip). A is read at `a` as it is, or (fromLog, a constant where inlined) as −exp(A_log).
 * Shared by the selective step below and the mixer step (asm/mixerStep.ts).
 */
// @ts-ignore: decorator valid in AssemblyScript
@inline
export function channelStep(h: usize, hOut: usize, a: usize, fromLog: bool, bm: usize, cm: usize, dt: f32, xv: f32, nBytes: usize, tbl: usize): f32 {
  const dtv = f32x4.splat(dt);
  const uv = f32x4.splat(dt * xv);
  let acc = f32x4.splat(0);
  for (let k: usize = 0; k < nBytes; k += 16) {
    const av = fromLog ? f32x4.neg(expLanes(v128.load(a + k), tbl)) : v128.load(a + k);
    const decay = expLanes(f32x4.mul(dtv, av), tbl);
    const hn = f32x4.add(f32x4.mul(decay, v128.load(h + k)), f32x4.mul(uv, v128.load(bm + k)));
    v128.store(hOut + k, hn);
    acc = f32x4.add(acc, f32x4.mul(hn, v128.load(cm + k)));
  }
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

/** The step; `tbl`: 192 bytes of scratch for the exp constants. */
export function selectiveStepSimd(
  h: usize, x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, y: usize, hOut: usize, tbl: usize,
  B: i32, ED: i32, N: i32,
): void {
  fillTable(tbl);
  const nBytes = <usize>N << 2;
  for (let b = 0; b < B; b++) {
    const bOff = <usize>b * nBytes;
    for (let e = 0; e < ED; e++) {
      const be = (<usize>b * <usize>ED + <usize>e) << 2;
      const xv = load<f32>(x + be);
      const hRow = (<usize>b * <usize>ED + <usize>e) * nBytes;
      const s = channelStep(h + hRow, hOut + hRow, A + <usize>e * nBytes, false, Bm + bOff, Cm + bOff, load<f32>(delta + be), xv, nBytes, tbl);
      store<f32>(y + be, s + load<f32>(D + (<usize>e << 2)) * xv);
    }
  }
}

/**
 * dst[i] = −exp(src[i]) for `count` float32 values (A = −exp(A_log) for decoding): vectors, then the tail through
 * one lane. `tbl`: 192 bytes of scratch for the exp constants.
 */
export function negExpArray(src: usize, dst: usize, count: i32, tbl: usize): void {
  fillTable(tbl);
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) v128.store(dst + k, f32x4.neg(expLanes(v128.load(src + k), tbl)));
  for (; k < bytes; k += 4) store<f32>(dst + k, -f32x4.extract_lane(expLanes(f32x4.splat(load<f32>(src + k)), tbl), 0));
}
