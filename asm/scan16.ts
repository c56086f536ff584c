/**
 * One channel of the forward and of the backward scan (asm/scanRange.ts) for NP = 16, the state size of every Mamba-1
 * checkpoint: the same arithmetic, lane for lane and in the same order (so the same bits), with the channel's A row,
 * its state h, the carry g and the dA block sums held in f32x4 locals instead of being reloaded from memory at every
 * step. The forward walks one channel over all steps (scanRange.ts walks all channels per step, its states in memory).
 *
 * Shapes as in scanRange.ts; here one channel e of one batch b: x, delta, dy, dx, ddelta read/written at
 * eOff + t · strideE; Bb, Cb the batch's (L, 16) rows of B and C; hS (L + 1, 16), aS (L, 16) scratch; dB32, dC32 (L, 16)
 * float32 block sums; dAblk (16) scratch; dAe the channel's (16) float64 dA accumulator. Returns Σ_t dy·x (dD's
 * share of this channel).
 */
import { expf4 } from './expf4';
import { addF32ToF64, hsum } from './vec';

/** Steps of t summed in float32 before dA is flushed to float64 (scanRange.ts T_BLOCK). */
const T_BLOCK: i32 = 32;

/**
 * Forward scan of one channel (x, delta, y at eOff + t · strideE): y_t = Σ_n h_t[n] C_t[n] + D x_t from h_{−1} = 0,
 * summed as scanRange.ts's by-16 loop sums (four vector accumulators, (0 + 2) + (1 + 3)); the final state into hOut (16).
 */
export function channelForward16(x: usize, delta: usize, y: usize, D: f32, Ae: usize, Bb: usize, Cb: usize, hOut: usize, eOff: usize, strideE: usize, L: i32): void {
  const A0 = v128.load(Ae);
  const A1 = v128.load(Ae, 16);
  const A2 = v128.load(Ae, 32);
  const A3 = v128.load(Ae, 48);
  const zero = f32x4.splat(0);
  let h0 = zero;
  let h1 = zero;
  let h2 = zero;
  let h3 = zero;
  for (let t = 0; t < L; t++) {
    const i = eOff + <usize>t * strideE;
    const dt = load<f32>(delta + i);
    const xv = load<f32>(x + i);
    const dtv = f32x4.splat(dt);
    const dtx = f32x4.splat(dt * xv);
    const Bt = Bb + (<usize>t << 6);
    const Ct = Cb + (<usize>t << 6);
    h0 = f32x4.add(f32x4.mul(expf4(f32x4.mul(dtv, A0)), h0), f32x4.mul(dtx, v128.load(Bt)));
    h1 = f32x4.add(f32x4.mul(expf4(f32x4.mul(dtv, A1)), h1), f32x4.mul(dtx, v128.load(Bt, 16)));
    h2 = f32x4.add(f32x4.mul(expf4(f32x4.mul(dtv, A2)), h2), f32x4.mul(dtx, v128.load(Bt, 32)));
    h3 = f32x4.add(f32x4.mul(expf4(f32x4.mul(dtv, A3)), h3), f32x4.mul(dtx, v128.load(Bt, 48)));
    const acc0 = f32x4.add(f32x4.add(zero, f32x4.mul(h0, v128.load(Ct))), f32x4.add(zero, f32x4.mul(h2, v128.load(Ct, 32))));
    const acc1 = f32x4.add(f32x4.add(zero, f32x4.mul(h1, v128.load(Ct, 16))), f32x4.add(zero, f32x4.mul(h3, v128.load(Ct, 48))));
    store<f32>(y + i, <f32>(hsum(f32x4.add(acc0, acc1)) + <f64>D * <f64>xv));
  }
  v128.store(hOut, h0);
  v128.store(hOut, h1, 16);
  v128.store(hOut, h2, 32);
  v128.store(hOut, h3, 48);
}

export function channelBackward16(
  x: usize, delta: usize, dy: usize, dx: usize, ddelta: usize, D: f32, Ae: usize, Bb: usize, Cb: usize,
  hS: usize, aS: usize, dB32: usize, dC32: usize, dAblk: usize, dAe: usize, eOff: usize, strideE: usize, L: i32,
): f64 {
  const A0 = v128.load(Ae);
  const A1 = v128.load(Ae, 16);
  const A2 = v128.load(Ae, 32);
  const A3 = v128.load(Ae, 48);
  // Forward recomputation: a_t = exp(Δ_t A), h_t = a_t h_{t−1} + Δ_t x_t B_t into aS and hS (row t + 1).
  let h0 = f32x4.splat(0);
  let h1 = h0;
  let h2 = h0;
  let h3 = h0;
  v128.store(hS, h0);
  v128.store(hS, h0, 16);
  v128.store(hS, h0, 32);
  v128.store(hS, h0, 48);
  for (let t = 0; t < L; t++) {
    const i = eOff + <usize>t * strideE;
    const dt = load<f32>(delta + i);
    const dtv = f32x4.splat(dt);
    const dtx = f32x4.splat(dt * load<f32>(x + i));
    const Bt = Bb + (<usize>t << 6);
    const at = aS + (<usize>t << 6);
    const ht = hS + (<usize>(t + 1) << 6);
    const a0 = expf4(f32x4.mul(dtv, A0));
    const a1 = expf4(f32x4.mul(dtv, A1));
    const a2 = expf4(f32x4.mul(dtv, A2));
    const a3 = expf4(f32x4.mul(dtv, A3));
    v128.store(at, a0);
    v128.store(at, a1, 16);
    v128.store(at, a2, 32);
    v128.store(at, a3, 48);
    h0 = f32x4.add(f32x4.mul(a0, h0), f32x4.mul(dtx, v128.load(Bt)));
    h1 = f32x4.add(f32x4.mul(a1, h1), f32x4.mul(dtx, v128.load(Bt, 16)));
    h2 = f32x4.add(f32x4.mul(a2, h2), f32x4.mul(dtx, v128.load(Bt, 32)));
    h3 = f32x4.add(f32x4.mul(a3, h3), f32x4.mul(dtx, v128.load(Bt, 48)));
    v128.store(ht, h0);
    v128.store(ht, h1, 16);
    v128.store(ht, h2, 32);
    v128.store(ht, h3, 48);
  }
  // Reverse pass: the carry g and the dA block sums in registers.
  let g0 = f32x4.splat(0);
  let g1 = g0;
  let g2 = g0;
  let g3 = g0;
  let d0 = g0;
  let d1 = g0;
  let d2 = g0;
  let d3 = g0;
  let dDsum: f64 = 0;
  for (let t = L - 1; t >= 0; t--) {
    const i = eOff + <usize>t * strideE;
    const dt = load<f32>(delta + i);
    const xv = load<f32>(x + i);
    const dyv = load<f32>(dy + i);
    const dtv = f32x4.splat(dt);
    const dtx = f32x4.splat(dt * xv);
    const dyS = f32x4.splat(dyv);
    const tOff = <usize>t << 6;
    const Bt = Bb + tOff;
    const Ct = Cb + tOff;
    const hPrev = hS + tOff;
    const at = aS + tOff;
    const dBt = dB32 + tOff;
    const dCt = dC32 + tOff;
    let sumGB = f32x4.splat(0);
    let sumGAah = sumGB;
    // Vector 0 … 3 of the state, each exactly as scanRange.ts's loop body.
    let gn = f32x4.add(f32x4.mul(dyS, v128.load(Ct)), g0);
    let a = v128.load(at);
    let gah = f32x4.mul(f32x4.mul(gn, a), v128.load(hPrev));
    sumGB = f32x4.add(sumGB, f32x4.mul(gn, v128.load(Bt)));
    sumGAah = f32x4.add(sumGAah, f32x4.mul(gah, A0));
    d0 = f32x4.add(d0, f32x4.mul(gah, dtv));
    v128.store(dBt, f32x4.add(v128.load(dBt), f32x4.mul(gn, dtx)));
    v128.store(dCt, f32x4.add(v128.load(dCt), f32x4.mul(dyS, v128.load(hPrev, 64))));
    g0 = f32x4.mul(a, gn);
    gn = f32x4.add(f32x4.mul(dyS, v128.load(Ct, 16)), g1);
    a = v128.load(at, 16);
    gah = f32x4.mul(f32x4.mul(gn, a), v128.load(hPrev, 16));
    sumGB = f32x4.add(sumGB, f32x4.mul(gn, v128.load(Bt, 16)));
    sumGAah = f32x4.add(sumGAah, f32x4.mul(gah, A1));
    d1 = f32x4.add(d1, f32x4.mul(gah, dtv));
    v128.store(dBt, f32x4.add(v128.load(dBt, 16), f32x4.mul(gn, dtx)), 16);
    v128.store(dCt, f32x4.add(v128.load(dCt, 16), f32x4.mul(dyS, v128.load(hPrev, 80))), 16);
    g1 = f32x4.mul(a, gn);
    gn = f32x4.add(f32x4.mul(dyS, v128.load(Ct, 32)), g2);
    a = v128.load(at, 32);
    gah = f32x4.mul(f32x4.mul(gn, a), v128.load(hPrev, 32));
    sumGB = f32x4.add(sumGB, f32x4.mul(gn, v128.load(Bt, 32)));
    sumGAah = f32x4.add(sumGAah, f32x4.mul(gah, A2));
    d2 = f32x4.add(d2, f32x4.mul(gah, dtv));
    v128.store(dBt, f32x4.add(v128.load(dBt, 32), f32x4.mul(gn, dtx)), 32);
    v128.store(dCt, f32x4.add(v128.load(dCt, 32), f32x4.mul(dyS, v128.load(hPrev, 96))), 32);
    g2 = f32x4.mul(a, gn);
    gn = f32x4.add(f32x4.mul(dyS, v128.load(Ct, 48)), g3);
    a = v128.load(at, 48);
    gah = f32x4.mul(f32x4.mul(gn, a), v128.load(hPrev, 48));
    sumGB = f32x4.add(sumGB, f32x4.mul(gn, v128.load(Bt, 48)));
    sumGAah = f32x4.add(sumGAah, f32x4.mul(gah, A3));
    d3 = f32x4.add(d3, f32x4.mul(gah, dtv));
    v128.store(dBt, f32x4.add(v128.load(dBt, 48), f32x4.mul(gn, dtx)), 48);
    v128.store(dCt, f32x4.add(v128.load(dCt, 48), f32x4.mul(dyS, v128.load(hPrev, 112))), 48);
    g3 = f32x4.mul(a, gn);
    const gb = hsum(sumGB);
    store<f32>(dx + i, <f32>(<f64>dyv * <f64>D + <f64>dt * gb));
    store<f32>(ddelta + i, <f32>(<f64>xv * gb + hsum(sumGAah)));
    dDsum += <f64>dyv * <f64>xv;
    if (t % T_BLOCK == 0) {
      v128.store(dAblk, d0);
      v128.store(dAblk, d1, 16);
      v128.store(dAblk, d2, 32);
      v128.store(dAblk, d3, 48);
      addF32ToF64(dAe, dAblk, 16);
      d0 = f32x4.splat(0);
      d1 = d0;
      d2 = d0;
      d3 = d0;
    }
  }
  return dDsum;
}
