/**
 * Fused Mamba-2 (SSD) scan in WebAssembly SIMD, AssemblyScript source (exported by asm/scan.ts, the module root).
 * Driven by src/ops/kernels/simd/ssd.ts; same arithmetic as src/ops/kernels/js/ssdMath.ts (read its header for the
 * math). Unlike the JS loops, the backward keeps each channel's L states in scratch (O(L·N) per call, as the
 * Mamba-1 module does) and reads the decay gradient a_t·(g_t·s_{t−1}) off them: in float32 the state-free form's
 * running sum loses digits over long sequences.
 *
 * Shape glossary (row-major, float32 unless noted): B batch, L length, H heads, P head dim, G groups (head h reads
 * group h / (H/G)), NP the state size padded to a multiple of 4 by the caller with B = C = h0 = dstate = 0 in the pad
 * lanes (they stay 0 throughout). The decays a = exp(dt·A) (B, L, H) come in as float64, computed by the caller.
 *
 * Precision: states s and carries ĝ are float32 f32x4 vectors; dot products over N end in a float64 horizontal sum;
 * every sum across channels or steps (ddt, dA, dD, and
 * dB, dC after a float32 sum over the P channels of one head) are float64.
 *
 * All pointers are byte offsets into the module's memory, 16-byte aligned.
 */

import { addF32ToF64, hsum } from './vec';

/**
 * Forward: y (B, L, H, P) and the final state (B, H, P, NP), which is also the running state (h0 copied in first).
 * @param a  (B, L, H) float64 decays
 */
export function ssdForward(
  x: usize, dt: usize, a: usize, Bm: usize, Cm: usize, D: usize, h0: usize, y: usize, state: usize,
  nB: i32, L: i32, H: i32, P: i32, G: i32, NP: i32,
): void {
  const rowBytes = <usize>NP << 2;
  const hpg = H / G;
  const stateBytes = <usize>H * <usize>P * rowBytes; // one batch of (H, P, NP)
  memory.copy(state, h0, <usize>nB * stateBytes);
  for (let b = 0; b < nB; b++) {
    const sb = state + <usize>b * stateBytes;
    for (let t = 0; t < L; t++) {
      const bt = b * L + t;
      for (let h = 0; h < H; h++) {
        const it = <usize>(bt * H + h);
        const av = f32x4.splat(<f32>load<f64>(a + (it << 3)));
        const dtv = load<f32>(dt + (it << 2));
        const Bt = Bm + <usize>(bt * G + h / hpg) * rowBytes;
        const Ct = Cm + <usize>(bt * G + h / hpg) * rowBytes;
        const dh = <f64>load<f32>(D + (<usize>h << 2));
        for (let p = 0; p < P; p++) {
          const ix = (it * <usize>P + <usize>p) << 2;
          const xv = load<f32>(x + ix);
          const dtx = f32x4.splat(dtv * xv);
          const s = sb + <usize>(h * P + p) * rowBytes;
          let acc = f32x4.splat(0);
          for (let k: usize = 0; k < rowBytes; k += 16) {
            const v = f32x4.add(f32x4.mul(av, v128.load(s + k)), f32x4.mul(dtx, v128.load(Bt + k)));
            v128.store(s + k, v);
            acc = f32x4.add(acc, f32x4.mul(v, v128.load(Ct + k)));
          }
          store<f32>(y + ix, <f32>(hsum(acc) + dh * <f64>xv));
        }
      }
    }
  }
}

/** Bytes of backward scratch for (L, H, G, NP): see {@link ssdBackward}. */
export function ssdScratchBytes(L: i32, H: i32, G: i32, NP: i32): usize {
  const ln = <usize>L * <usize>NP;
  return ((ln + <usize>NP) << 2) // sS
    + (<usize>NP << 2) // gh
    + (ln << 3) // dB32, dC32
    + (<usize>L * <usize>G * <usize>NP << 4) // dB64, dC64
    + (<usize>L * <usize>H << 3) // ddt64
    + (<usize>H << 4) // dA64, dD64
    + 16;
}

/**
 * Backward: the seven gradients of Σ y·dy + Σ state·dstate. Per (b, h, p): a forward walk (states into scratch, dC)
 * and a reverse walk (ĝ, dx, dB, ddt, dA, dD).
 * Outputs dx (B, L, H, P), ddt (B, L, H), dA (H), dB, dC (B, L, G, NP), dD (H), dh0 (B, H, P, NP).
 */
export function ssdBackward(
  x: usize, dt: usize, a: usize, A: usize, Bm: usize, Cm: usize, D: usize, h0: usize, dy: usize, dstate: usize,
  dx: usize, ddt: usize, dA: usize, dB: usize, dC: usize, dD: usize, dh0: usize, scratch: usize,
  nB: i32, L: i32, H: i32, P: i32, G: i32, NP: i32,
): void {
  const rowBytes = <usize>NP << 2;
  const hpg = H / G;
  const ln = <usize>L * <usize>NP;
  const lgn = <usize>L * <usize>G * <usize>NP;
  const sS = scratch; // (L + 1, NP) f32: row t + 1 holds s_t, row 0 is h0
  const gh = sS + (ln << 2) + rowBytes; // (NP) f32
  const dB32 = gh + rowBytes; // (L, NP) f32, this head
  const dC32 = dB32 + (ln << 2); // (L, NP) f32
  const dB64 = (dC32 + (ln << 2) + 15) & ~<usize>15; // (L, G, NP) f64, this batch
  const dC64 = dB64 + (lgn << 3); // (L, G, NP) f64
  const ddt64 = dC64 + (lgn << 3); // (L, H) f64, this batch
  const dA64 = ddt64 + (<usize>L * <usize>H << 3); // (H) f64
  const dD64 = dA64 + (<usize>H << 3); // (H) f64
  memory.fill(dA64, 0, <usize>H << 4);
  for (let b = 0; b < nB; b++) {
    memory.fill(dB64, 0, lgn << 4);
    memory.fill(ddt64, 0, <usize>L * <usize>H << 3);
    for (let h = 0; h < H; h++) {
      const Ah = <f64>load<f32>(A + (<usize>h << 2));
      const Dh = <f64>load<f32>(D + (<usize>h << 2));
      const gi = h / hpg;
      memory.fill(dB32, 0, ln << 3); // dB32 and dC32
      let dAsum: f64 = 0;
      let dDsum: f64 = 0;
      for (let p = 0; p < P; p++) {
        const sOff = <usize>((b * H + h) * P + p) * rowBytes; // (b, h, p, 0) in (B, H, P, NP)
        memory.copy(sS, h0 + sOff, rowBytes);
        // Forward walk: the states, dC.
        for (let t = 0; t < L; t++) {
          const it = <usize>((b * L + t) * H + h);
          const ix = (it * <usize>P + <usize>p) << 2;
          const av = f32x4.splat(<f32>load<f64>(a + (it << 3)));
          const dyS = f32x4.splat(load<f32>(dy + ix));
          const dtx = f32x4.splat(load<f32>(dt + (it << 2)) * load<f32>(x + ix));
          const row = <usize>((b * L + t) * G + gi) * rowBytes;
          const Bt = Bm + row;
          const dCt = dC32 + <usize>t * rowBytes;
          const sPrev = sS + <usize>t * rowBytes;
          for (let k: usize = 0; k < rowBytes; k += 16) {
            const v = f32x4.add(f32x4.mul(av, v128.load(sPrev + k)), f32x4.mul(dtx, v128.load(Bt + k)));
            v128.store(sPrev + rowBytes + k, v);
            v128.store(dCt + k, f32x4.add(v128.load(dCt + k), f32x4.mul(dyS, v)));
          }
        }
        // Reverse walk: g, dx, dB, ddt (with dl_t = a_t·(g_t·s_{t−1}) off the stored states), dA, dD.
        memory.copy(gh, dstate + sOff, rowBytes);
        for (let t = L - 1; t >= 0; t--) {
          const it = <usize>((b * L + t) * H + h);
          const ix = (it * <usize>P + <usize>p) << 2;
          const at = load<f64>(a + (it << 3));
          const av = f32x4.splat(<f32>at);
          const dyv = load<f32>(dy + ix);
          const dyS = f32x4.splat(dyv);
          const dtv = load<f32>(dt + (it << 2));
          const xv = load<f32>(x + ix);
          const dtx = f32x4.splat(dtv * xv);
          const row = <usize>((b * L + t) * G + gi) * rowBytes;
          const Bt = Bm + row;
          const Ct = Cm + row;
          const dBt = dB32 + <usize>t * rowBytes;
          const sPrev = sS + <usize>t * rowBytes;
          let gB = f32x4.splat(0);
          let gs = f32x4.splat(0);
          for (let k: usize = 0; k < rowBytes; k += 16) {
            const gn = f32x4.add(f32x4.mul(dyS, v128.load(Ct + k)), v128.load(gh + k));
            gB = f32x4.add(gB, f32x4.mul(gn, v128.load(Bt + k)));
            gs = f32x4.add(gs, f32x4.mul(gn, v128.load(sPrev + k)));
            v128.store(dBt + k, f32x4.add(v128.load(dBt + k), f32x4.mul(gn, dtx)));
            v128.store(gh + k, f32x4.mul(av, gn));
          }
          const gb = hsum(gB);
          const dl = at * hsum(gs);
          store<f32>(dx + ix, <f32>(<f64>dyv * Dh + <f64>dtv * gb));
          const dd = ddt64 + (<usize>(t * H + h) << 3);
          store<f64>(dd, load<f64>(dd) + <f64>xv * gb + Ah * dl);
          dAsum += <f64>dtv * dl;
          dDsum += <f64>dyv * <f64>xv;
        }
        memory.copy(dh0 + sOff, gh, rowBytes);
      }
      // Flush this head's dB, dC (summed over its P channels) into the batch's float64 (L, G, NP).
      for (let t = 0; t < L; t++) {
        const off = <usize>(t * G + gi) * <usize>NP << 3;
        addF32ToF64(dB64 + off, dB32 + <usize>t * rowBytes, NP);
        addF32ToF64(dC64 + off, dC32 + <usize>t * rowBytes, NP);
      }
      const pa = dA64 + (<usize>h << 3);
      store<f64>(pa, load<f64>(pa) + dAsum);
      const pd = dD64 + (<usize>h << 3);
      store<f64>(pd, load<f64>(pd) + dDsum);
    }
    const lh = L * H;
    for (let k = 0; k < lh; k++) store<f32>(ddt + (<usize>(b * lh + k) << 2), <f32>load<f64>(ddt64 + (<usize>k << 3)));
    const base = <usize>b * lgn << 2;
    for (let k: usize = 0; k < lgn; k++) {
      store<f32>(dB + base + (k << 2), <f32>load<f64>(dB64 + (k << 3)));
      store<f32>(dC + base + (k << 2), <f32>load<f64>(dC64 + (k << 3)));
    }
  }
  for (let h = 0; h < H; h++) {
    store<f32>(dA + (<usize>h << 2), <f32>load<f64>(dA64 + (<usize>h << 3)));
    store<f32>(dD + (<usize>h << 2), <f32>load<f64>(dD64 + (<usize>h << 3)));
  }
}
