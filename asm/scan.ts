/**
 * Fused selective scan (Mamba S6) in WebAssembly SIMD, AssemblyScript source.
 * Compiled by `npm run build:wasm` (scripts/embed-wasm.js, embedded in src/ops/kernels/simd/scanWasmBinary.ts) and driven by
 * src/ops/kernels/simd/scan.ts, which lays the arrays out in this module's memory.
 * Same arithmetic as src/ops/kernels/js/scanMath.ts (read its header for the math).
 *
 * Shape glossary (all arrays row-major, float32 unless noted):
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   N  state size; here always NP = N padded to a multiple of 4 by the caller
 *      with A = B = C = 0 in the pad lanes, which keeps every pad lane of h, g
 *      and every gradient at exactly 0. Vectors run over N in f32x4 steps.
 *
 * Precision: states h and carries g are float32 (as the decays a = exp(dt A));
 * sums across t or e (dA, dB, dC, dD) are accumulated in float32 over short
 * blocks and flushed into float64; per-step dot products over N end in a
 * float64 horizontal sum.
 *
 * All pointers are byte offsets into this module's memory, 16-byte aligned.
 */
import { expf4 } from './expf4';
export { convForward, convBackward, convScratchBytes } from './conv';
export { softplusArray } from './softplus';
export { ssdForward, ssdBackward, ssdScratchBytes } from './ssd';

/** Steps of t summed in float32 before dA of a channel is flushed to float64. */
const T_BLOCK: i32 = 32;
/** Channels summed in float32 before dB and dC are flushed to float64. */
const E_BLOCK: i32 = 16;

/** First free byte after the module's static data: the caller's arrays start here (aligned up). */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * exp over `count` float32 values (count a multiple of 4), for testing expf4.
 * @param src (count) arguments
 * @param dst (count) results
 */
export function expArray(src: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  for (let k: usize = 0; k < bytes; k += 16) v128.store(dst + k, expf4(v128.load(src + k)));
}

/** Sum of the four float32 lanes, in float64. */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function hsum(v: v128): f64 {
  return (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1))
    + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
}

/** dst[k] += src[k] for `count` float32 src values into float64 dst (count a multiple of 4). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function addF32ToF64(dst: usize, src: usize, count: i32): void {
  const bytes = <usize>count << 2;
  for (let k: usize = 0; k < bytes; k += 16) {
    const v = v128.load(src + k);
    const d = dst + (k << 1);
    v128.store(d, f64x2.add(v128.load(d), f64x2.promote_low_f32x4(v)));
    v128.store(d, f64x2.add(v128.load(d, 16), f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0))), 16);
  }
}

/** dst[k] = f32(src[k]) for `count` float64 src values (count a multiple of 4). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function demoteF64(dst: usize, src: usize, count: i32): void {
  const bytes = <usize>count << 2;
  for (let k: usize = 0; k < bytes; k += 16) {
    const lo = f32x4.demote_f64x2_zero(v128.load(src + (k << 1)));
    const hi = f32x4.demote_f64x2_zero(v128.load(src + (k << 1), 16));
    v128.store(dst + k, i64x2.shuffle(lo, hi, 0, 2));
  }
}

/**
 * One f32x4 step of the forward recurrence at byte offset k of the (NP) rows:
 * h = exp(dt A) h + dt x B, stored back; returns acc + h C.
 */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function forwardVec(Ae: usize, he: usize, Bt: usize, Ct: usize, k: usize, dtv: v128, dtx: v128, acc: v128): v128 {
  const a = expf4(f32x4.mul(dtv, v128.load(Ae + k)));
  const hn = f32x4.add(f32x4.mul(a, v128.load(he + k)), f32x4.mul(dtx, v128.load(Bt + k)));
  v128.store(he + k, hn);
  return f32x4.add(acc, f32x4.mul(hn, v128.load(Ct + k)));
}

/**
 * Forward scan: y_t[e] = sum_n h_t[e, n] C_t[n] + D[e] x_t[e].
 * Loop order b, t, e, n as in the JS version; the running state of all channels
 * stays in `h`. The n loop runs four vectors at a time when NP is a multiple of 16.
 *
 * @param x     (B, L, ED)
 * @param delta (B, L, ED)
 * @param A     (ED, NP)
 * @param Bm    (B, L, NP)
 * @param Cm    (B, L, NP)
 * @param D     (ED)
 * @param y     (B, L, ED) output
 * @param h     (ED, NP) scratch
 */
export function scanForward(
  x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, y: usize, h: usize,
  nB: i32, L: i32, ED: i32, NP: i32,
): void {
  const rowBytes = <usize>NP << 2; // bytes of one (NP) row
  const by16 = (NP & 15) == 0;
  for (let b = 0; b < nB; b++) {
    memory.fill(h, 0, <usize>ED * rowBytes);
    for (let t = 0; t < L; t++) {
      const bt = b * L + t;
      const rowE = <usize>bt * <usize>ED << 2; // byte offset of (b, t, 0) in (B, L, ED)
      const Bt = Bm + <usize>bt * rowBytes; // (NP) row of B_t
      const Ct = Cm + <usize>bt * rowBytes; // (NP) row of C_t
      for (let e = 0; e < ED; e++) {
        const ie = rowE + (<usize>e << 2);
        const dt = load<f32>(delta + ie);
        const xv = load<f32>(x + ie);
        const dtv = f32x4.splat(dt);
        const dtx = f32x4.splat(dt * xv);
        const Ae = A + <usize>e * rowBytes;
        const he = h + <usize>e * rowBytes;
        let acc0 = f32x4.splat(0);
        let acc1 = f32x4.splat(0);
        if (by16) {
          let acc2 = f32x4.splat(0);
          let acc3 = f32x4.splat(0);
          for (let k: usize = 0; k < rowBytes; k += 64) {
            acc0 = forwardVec(Ae, he, Bt, Ct, k, dtv, dtx, acc0);
            acc1 = forwardVec(Ae, he, Bt, Ct, k + 16, dtv, dtx, acc1);
            acc2 = forwardVec(Ae, he, Bt, Ct, k + 32, dtv, dtx, acc2);
            acc3 = forwardVec(Ae, he, Bt, Ct, k + 48, dtv, dtx, acc3);
          }
          acc0 = f32x4.add(acc0, acc2);
          acc1 = f32x4.add(acc1, acc3);
        } else {
          for (let k: usize = 0; k < rowBytes; k += 16) acc0 = forwardVec(Ae, he, Bt, Ct, k, dtv, dtx, acc0);
        }
        const acc = f32x4.add(acc0, acc1);
        store<f32>(y + ie, <f32>(hsum(acc) + <f64>load<f32>(D + (<usize>e << 2)) * <f64>xv));
      }
    }
  }
}

/**
 * Bytes of backward scratch for sizes (L, ED, NP): see {@link scanBackward}.
 */
export function backwardScratchBytes(L: i32, ED: i32, NP: i32): usize {
  const ln = <usize>L * <usize>NP;
  return ((ln + <usize>NP) << 2) // hS
    + (ln << 2) // aS
    + (<usize>NP << 3) // g, dAblk
    + (ln << 3) // dB32, dC32
    + (ln << 4) // dB64, dC64
    + (<usize>ED * <usize>NP << 3) // dA64
    + ((<usize>ED << 3) + 16); // dD64 (+ alignment slack)
}

/**
 * Backward scan: all six gradients of sum(y * dy).
 * Per (b, e) channel: recompute a_t and h_t forward into aS / hS, then walk t
 * backwards carrying g. dA accumulates per channel in float32 over T_BLOCK
 * steps, then in float64; dB and dC accumulate in float32 over E_BLOCK
 * channels, then in float64; dD in float64.
 *
 * @param x       (B, L, ED)
 * @param delta   (B, L, ED)
 * @param A       (ED, NP)
 * @param Bm      (B, L, NP)
 * @param Cm      (B, L, NP)
 * @param D       (ED)
 * @param dy      (B, L, ED)
 * @param dx      (B, L, ED) output
 * @param ddelta  (B, L, ED) output
 * @param dA      (ED, NP) output
 * @param dB      (B, L, NP) output
 * @param dC      (B, L, NP) output
 * @param dD      (ED) output
 * @param scratch backwardScratchBytes(L, ED, NP) bytes
 */
export function scanBackward(
  x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, dy: usize,
  dx: usize, ddelta: usize, dA: usize, dB: usize, dC: usize, dD: usize, scratch: usize,
  nB: i32, L: i32, ED: i32, NP: i32,
): void {
  const rowBytes = <usize>NP << 2; // bytes of one (NP) float32 row
  const ln = <usize>L * <usize>NP; // elements of an (L, NP) block
  const hS = scratch; // (L + 1, NP) f32: row t + 1 holds h_t, row 0 is h_{-1} = 0
  const aS = hS + ((ln + <usize>NP) << 2); // (L, NP) f32: a_t
  const g = aS + (ln << 2); // (NP) f32: carry a_{t+1} g_{t+1}
  const dAblk = g + rowBytes; // (NP) f32: dA of this channel over the current t block
  const dB32 = dAblk + rowBytes; // (L, NP) f32
  const dC32 = dB32 + (ln << 2); // (L, NP) f32
  const dB64 = (dC32 + (ln << 2) + 15) & ~<usize>15; // (L, NP) f64
  const dC64 = dB64 + (ln << 3); // (L, NP) f64
  const dA64 = dC64 + (ln << 3); // (ED, NP) f64
  const dD64 = dA64 + (<usize>ED * rowBytes << 1); // (ED) f64

  memory.fill(hS, 0, rowBytes);
  memory.fill(dA64, 0, <usize>ED * rowBytes << 1);
  memory.fill(dD64, 0, <usize>ED << 3);
  const strideE = <usize>ED << 2; // bytes from (b, t, e) to (b, t + 1, e)

  for (let b = 0; b < nB; b++) {
    const baseE = <usize>b * <usize>L * strideE; // byte offset of (b, 0, 0) in (B, L, ED)
    const baseN = <usize>b * ln << 2; // byte offset of (b, 0, 0) in (B, L, NP)
    memory.fill(dB64, 0, ln << 4); // dB64 and dC64
    for (let e0 = 0; e0 < ED; e0 += E_BLOCK) {
      memory.fill(dB32, 0, ln << 3); // dB32 and dC32
      const e1 = min(e0 + E_BLOCK, ED);
      for (let e = e0; e < e1; e++) {
        const Ae = A + <usize>e * rowBytes;
        const eOff = baseE + (<usize>e << 2);

        // Forward recompute of a_t and h_t.
        for (let t = 0; t < L; t++) {
          const i = eOff + <usize>t * strideE;
          const dt = load<f32>(delta + i);
          const dtv = f32x4.splat(dt);
          const dtx = f32x4.splat(dt * load<f32>(x + i));
          const Bt = Bm + baseN + <usize>t * rowBytes;
          const hPrev = hS + <usize>t * rowBytes;
          const at = aS + <usize>t * rowBytes;
          for (let k: usize = 0; k < rowBytes; k += 16) {
            const a = expf4(f32x4.mul(dtv, v128.load(Ae + k)));
            v128.store(at + k, a);
            v128.store(hPrev + rowBytes + k, f32x4.add(f32x4.mul(a, v128.load(hPrev + k)), f32x4.mul(dtx, v128.load(Bt + k))));
          }
        }

        // Reverse scan.
        memory.fill(g, 0, rowBytes << 1); // g and dAblk
        const dAe = dA64 + (<usize>e * rowBytes << 1);
        let dDsum: f64 = 0;
        for (let t = L - 1; t >= 0; t--) {
          const i = eOff + <usize>t * strideE;
          const dt = load<f32>(delta + i);
          const xv = load<f32>(x + i);
          const dyv = load<f32>(dy + i);
          const dtv = f32x4.splat(dt);
          const dtx = f32x4.splat(dt * xv);
          const dyS = f32x4.splat(dyv);
          const tOff = <usize>t * rowBytes;
          const Bt = Bm + baseN + tOff;
          const Ct = Cm + baseN + tOff;
          const hPrev = hS + tOff;
          const at = aS + tOff;
          const dBt = dB32 + tOff;
          const dCt = dC32 + tOff;
          let sumGB = f32x4.splat(0); // sum_n g_t[n] B_t[n]
          let sumGAah = f32x4.splat(0); // sum_n g_t[n] A[e, n] a_t[n] h_{t-1}[n]
          for (let k: usize = 0; k < rowBytes; k += 16) {
            const gn = f32x4.add(f32x4.mul(dyS, v128.load(Ct + k)), v128.load(g + k));
            const a = v128.load(at + k);
            const gah = f32x4.mul(f32x4.mul(gn, a), v128.load(hPrev + k));
            sumGB = f32x4.add(sumGB, f32x4.mul(gn, v128.load(Bt + k)));
            sumGAah = f32x4.add(sumGAah, f32x4.mul(gah, v128.load(Ae + k)));
            v128.store(dAblk + k, f32x4.add(v128.load(dAblk + k), f32x4.mul(gah, dtv)));
            v128.store(dBt + k, f32x4.add(v128.load(dBt + k), f32x4.mul(gn, dtx)));
            v128.store(dCt + k, f32x4.add(v128.load(dCt + k), f32x4.mul(dyS, v128.load(hPrev + rowBytes + k))));
            v128.store(g + k, f32x4.mul(a, gn));
          }
          const gb = hsum(sumGB);
          store<f32>(dx + i, <f32>(<f64>dyv * <f64>load<f32>(D + (<usize>e << 2)) + <f64>dt * gb));
          store<f32>(ddelta + i, <f32>(<f64>xv * gb + hsum(sumGAah)));
          dDsum += <f64>dyv * <f64>xv;
          if (t % T_BLOCK == 0) {
            addF32ToF64(dAe, dAblk, NP);
            memory.fill(dAblk, 0, rowBytes);
          }
        }
        const dDe = dD64 + (<usize>e << 3);
        store<f64>(dDe, load<f64>(dDe) + dDsum);
      }
      addF32ToF64(dB64, dB32, L * NP);
      addF32ToF64(dC64, dC32, L * NP);
    }
    demoteF64(dB + baseN, dB64, L * NP);
    demoteF64(dC + baseN, dC64, L * NP);
  }
  demoteF64(dA, dA64, ED * NP);
  for (let e = 0; e < ED; e++) store<f32>(dD + (<usize>e << 2), <f32>load<f64>(dD64 + (<usize>e << 3)));
}
