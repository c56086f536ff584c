/**
 * Fused selective scan (Mamba S6) over a range of channels [e0, e1): the one implementation of the scan kernels.
 * The single-threaded entry points scanForward / scanBackward (asm/scan.ts) run it over the full range [0, ED); in
 * the threaded build (asm/threaded.ts) each thread of src/node/simdPool.ts runs one range over the same shared
 * memory. Per channel the arithmetic does not depend on the split (so threaded results are bit for bit the
 * single-threaded ones); the sums over channels (dB, dC) are left as float64 partials per range, which
 * reducePartials adds up in range order. Same arithmetic as src/ops/kernels/js/scanMath.ts (read its header for
 * the math).
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
 * All pointers are byte offsets into the module's memory, 16-byte aligned.
 */
import { expf4 } from './expf4';
import { addF32ToF64, demoteF64, hsum } from './vec';
import { channelBackward16, channelForward16 } from './scan16';

/** Channels summed in float32 before dB and dC are flushed to float64 (ranges start on a multiple). */
const E_BLOCK: i32 = 16;
/** Steps of t summed in float32 before dA of a channel is flushed to float64. */
const T_BLOCK: i32 = 32;

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
 * Forward scan of channels [e0, e1): y_t[e] = sum_n h_t[e, n] C_t[n] + D[e] x_t[e].
 * Loop order b, t, e, n as in the JS version; the running state of the channels stays in `h`, batch b's at
 * h + b · hStride bytes: with hStride 0 one (ED, NP) scratch serves every batch, with ED · NP · 4 the (B, ED, NP)
 * array `h` ends holding each batch's final state (a prompt's, for decoding). The n loop runs four vectors at a
 * time when NP is a multiple of 16.
 *
 * @param x     (B, L, ED)
 * @param delta (B, L, ED)
 * @param A     (ED, NP)
 * @param Bm    (B, L, NP)
 * @param Cm    (B, L, NP)
 * @param D     (ED)
 * @param y     (B, L, ED) output, this range's columns
 * @param h     (ED, NP) scratch, or (B, ED, NP) final states (hStride ED · NP · 4): this range's rows
 */
export function scanForwardRange(
  x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, y: usize, h: usize,
  nB: i32, L: i32, ED: i32, NP: i32, e0: i32, e1: i32, hStride: i32,
): void {
  const rowBytes = <usize>NP << 2; // bytes of one (NP) row
  const by16 = (NP & 15) == 0;
  if (NP == 16) { // every Mamba-1 checkpoint: channel by channel, the state in registers (asm/scan16.ts)
    const strideE = <usize>ED << 2;
    for (let b = 0; b < nB; b++) {
      const hb = h + <usize>b * <usize>hStride;
      const base = <usize>b * <usize>L * strideE;
      const bn = <usize>b * <usize>L * rowBytes;
      for (let e = e0; e < e1; e++) {
        channelForward16(x, delta, y, load<f32>(D + (<usize>e << 2)), A + <usize>e * rowBytes, Bm + bn, Cm + bn, hb + <usize>e * rowBytes, base + (<usize>e << 2), strideE, L);
      }
    }
    return;
  }
  for (let b = 0; b < nB; b++) {
    const hb = h + <usize>b * <usize>hStride; // (ED, NP) state of batch b
    memory.fill(hb + <usize>e0 * rowBytes, 0, <usize>(e1 - e0) * rowBytes);
    for (let t = 0; t < L; t++) {
      const bt = b * L + t;
      const rowE = <usize>bt * <usize>ED << 2;
      const Bt = Bm + <usize>bt * rowBytes;
      const Ct = Cm + <usize>bt * rowBytes;
      for (let e = e0; e < e1; e++) {
        const ie = rowE + (<usize>e << 2);
        const dt = load<f32>(delta + ie);
        const xv = load<f32>(x + ie);
        const dtv = f32x4.splat(dt);
        const dtx = f32x4.splat(dt * xv);
        const Ae = A + <usize>e * rowBytes;
        const he = hb + <usize>e * rowBytes;
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

/** Bytes of one range's scratch for scanBackwardRange: (L + 1, NP) + (L, NP) + 2 (NP) + 2 (L, NP) float32. */
export function rangeScratchBytes(L: i32, NP: i32): usize {
  const ln = <usize>L * <usize>NP;
  return ((ln + <usize>NP) << 2) + (ln << 2) + (<usize>NP << 3) + (ln << 3);
}

/**
 * Backward scan of channels [e0, e1), e0 a multiple of E_BLOCK: the gradients of sum(y * dy).
 * Per (b, e) channel: recompute a_t and h_t forward into aS / hS, then walk t backwards carrying g. dA accumulates
 * per channel in float32 over T_BLOCK steps, then in float64; dB and dC accumulate in float32 over E_BLOCK
 * channels, then in float64; dD in float64.
 * x, delta, dy (B, L, ED); A (ED, NP); Bm, Cm (B, L, NP); D (ED). dx, ddelta: this range's
 * columns. dA (ED, NP) and dD (ED): this range's rows, final. dB64 and dC64 (B, L, NP) float64: this range's
 * partial sums (each E_BLOCK of channels summed in float32, the blocks in float64), to add up with reducePartials.
 * dA64 (ED, NP) and dD64 (ED) float64: shared accumulators, this range's rows. scratch: rangeScratchBytes(L, NP).
 */
export function scanBackwardRange(
  x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, dy: usize,
  dx: usize, ddelta: usize, dA: usize, dD: usize, dB64: usize, dC64: usize, dA64: usize, dD64: usize, scratch: usize,
  nB: i32, L: i32, ED: i32, NP: i32, e0: i32, e1: i32,
): void {
  const rowBytes = <usize>NP << 2;
  const ln = <usize>L * <usize>NP;
  const hS = scratch; // (L + 1, NP): row t + 1 holds h_t, row 0 is h_{-1} = 0
  const aS = hS + ((ln + <usize>NP) << 2); // (L, NP): a_t
  const g = aS + (ln << 2); // (NP): carry
  const dAblk = g + rowBytes; // (NP)
  const dB32 = dAblk + rowBytes; // (L, NP)
  const dC32 = dB32 + (ln << 2); // (L, NP)
  memory.fill(hS, 0, rowBytes);
  memory.fill(dA64 + (<usize>e0 * rowBytes << 1), 0, <usize>(e1 - e0) * rowBytes << 1);
  memory.fill(dD64 + (<usize>e0 << 3), 0, <usize>(e1 - e0) << 3);
  memory.fill(dB64, 0, <usize>nB * ln << 3);
  memory.fill(dC64, 0, <usize>nB * ln << 3);
  const strideE = <usize>ED << 2;
  for (let b = 0; b < nB; b++) {
    const baseE = <usize>b * <usize>L * strideE;
    const baseN = <usize>b * ln << 2;
    const dBb = dB64 + (<usize>b * ln << 3);
    const dCb = dC64 + (<usize>b * ln << 3);
    for (let eb = e0; eb < e1; eb += E_BLOCK) {
      memory.fill(dB32, 0, ln << 3); // dB32 and dC32
      const eEnd = min(eb + E_BLOCK, e1);
      for (let e = eb; e < eEnd; e++) {
        const Ae = A + <usize>e * rowBytes;
        const eOff = baseE + (<usize>e << 2);
        const dDe = dD64 + (<usize>e << 3);
        if (NP == 16) { // every Mamba-1 checkpoint: the same arithmetic with the rows in registers
          const De = load<f32>(D + (<usize>e << 2));
          const dAe16 = dA64 + (<usize>e * rowBytes << 1);
          const s = channelBackward16(x, delta, dy, dx, ddelta, De, Ae, Bm + baseN, Cm + baseN, hS, aS, dB32, dC32, dAblk, dAe16, eOff, strideE, L);
          store<f64>(dDe, load<f64>(dDe) + s);
          continue;
        }
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
          let sumGB = f32x4.splat(0);
          let sumGAah = f32x4.splat(0);
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
        store<f64>(dDe, load<f64>(dDe) + dDsum);
      }
      addF32ToF64(dBb, dB32, L * NP);
      addF32ToF64(dCb, dC32, L * NP);
    }
  }
  demoteF64(dA + <usize>e0 * rowBytes, dA64 + (<usize>e0 * rowBytes << 1), (e1 - e0) * NP);
  for (let e = e0; e < e1; e++) store<f32>(dD + (<usize>e << 2), <f32>load<f64>(dD64 + (<usize>e << 3)));
}

/**
 * dst[i] = f32(sum over p < parts of src_p[i]) for i in [i0, i1), src_p = src + p · partBytes (float64 arrays),
 * summed in p order starting from the first part.
 */
export function reducePartials(dst: usize, src: usize, partBytes: usize, parts: i32, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 3;
    let s: f64 = load<f64>(src + o);
    for (let p = 1; p < parts; p++) s += load<f64>(src + <usize>p * partBytes + o);
    store<f32>(dst + (<usize>i << 2), <f32>s);
  }
}
