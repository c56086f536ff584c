/**
 * Random fused-SSD problems and an independent float64 reference for them (textbook: every state kept, the reverse
 * scan g_t = dy_t·C_t + a_{t+1}·g_{t+1} with dl_t = a_t·(g_t·s_{t−1}) read off the stored states).
 *
 * Shapes: B batch, L length, H heads, P head dim, G groups, N state size.
 */
import { SsdArrays, SsdDims, SsdGrads } from '../../src/ops/kernels/js/ssdMath';
import { logUniform, rng, uniformArray } from './random';

/** One problem: inputs plus the upstream gradients dy (B, L, H, P) and dstate (B, H, P, N). */
export interface SsdCase extends SsdArrays {
  dims: SsdDims;
  dy: Float32Array;
  dstate: Float32Array;
}

/**
 * Δ log-uniform in [1e-3, 0.5] with 10% in [0.5, 2] ('underflow': a third in [20, 60], so Δ·A reaches −100s and the
 * decay underflows), A in (−2, −0.1) per head, x/B/C/dy in [−1, 1], D in [0.5, 1.5], h0 and dstate in [−1, 1]
 * (zero when `zeroH0`).
 */
export function ssdCase(dims: SsdDims, seed: number, kind: 'realistic' | 'underflow' = 'realistic', zeroH0 = false): SsdCase {
  const { B, L, H, P, G, N } = dims;
  const r = rng(seed);
  const u = (n: number, lo: number, hi: number) => uniformArray(r, n, lo, hi);
  const dt = Float32Array.from({ length: B * L * H }, () => {
    if (kind === 'underflow' && r() < 1 / 3) return 20 + 40 * r();
    return r() < 0.1 ? 0.5 + 1.5 * r() : logUniform(r, 1e-3, 0.5);
  });
  return {
    dims, x: u(B * L * H * P, -1, 1), dt, A: u(H, -2, -0.1), Bm: u(B * L * G * N, -1, 1), Cm: u(B * L * G * N, -1, 1),
    D: u(H, 0.5, 1.5), h0: zeroH0 ? new Float32Array(B * H * P * N) : u(B * H * P * N, -1, 1),
    dy: u(B * L * H * P, -1, 1), dstate: u(B * H * P * N, -1, 1),
  };
}

/** Float64 reference: y, the final state and the seven gradients of Σ y·dy + Σ state·dstate. */
export function ssdReference(c: SsdCase): { y: Float64Array; state: Float64Array; grads: Record<keyof SsdGrads, Float64Array> } {
  const { B, L, H, P, G, N } = c.dims;
  const y = new Float64Array(B * L * H * P);
  const state = new Float64Array(B * H * P * N);
  const z = (n: number) => new Float64Array(n);
  const gr = { dx: z(B * L * H * P), ddt: z(B * L * H), dA: z(H), dB: z(B * L * G * N), dC: z(B * L * G * N), dD: z(H), dh0: z(B * H * P * N) };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      for (let p = 0; p < P; p++) {
        const ix = (t: number) => ((b * L + t) * H + h) * P + p;
        const it = (t: number) => (b * L + t) * H + h;
        const jn = (t: number, n: number) => ((b * L + t) * G + g) * N + n;
        const sn = (n: number) => ((b * H + h) * P + p) * N + n;
        const dec = (t: number) => Math.exp(c.dt[it(t)] * c.A[h]);
        const hs: Float64Array[] = [Float64Array.from({ length: N }, (_, n) => c.h0[sn(n)])]; // hs[t + 1] = s_t
        for (let t = 0; t < L; t++) {
          const s = z(N);
          let acc = 0;
          for (let n = 0; n < N; n++) {
            s[n] = dec(t) * hs[t][n] + c.dt[it(t)] * c.x[ix(t)] * c.Bm[jn(t, n)];
            acc += s[n] * c.Cm[jn(t, n)];
          }
          hs.push(s);
          y[ix(t)] = acc + c.D[h] * c.x[ix(t)];
        }
        for (let n = 0; n < N; n++) state[sn(n)] = hs[L][n];
        let gNext = Float64Array.from({ length: N }, (_, n) => c.dstate[sn(n)]); // a_{t+1}·g_{t+1}, dstate at the end
        for (let t = L - 1; t >= 0; t--) {
          const dt = c.dt[it(t)];
          const xv = c.x[ix(t)];
          const dyv = c.dy[ix(t)];
          const gt = Float64Array.from({ length: N }, (_, n) => dyv * c.Cm[jn(t, n)] + gNext[n]);
          let gB = 0;
          let gs = 0;
          for (let n = 0; n < N; n++) {
            gB += gt[n] * c.Bm[jn(t, n)];
            gs += gt[n] * hs[t][n];
            gr.dB[jn(t, n)] += gt[n] * dt * xv;
            gr.dC[jn(t, n)] += dyv * hs[t + 1][n];
          }
          const dl = dec(t) * gs;
          gr.dx[ix(t)] += dyv * c.D[h] + dt * gB;
          gr.ddt[it(t)] += xv * gB + c.A[h] * dl;
          gr.dA[h] += dt * dl;
          gr.dD[h] += dyv * xv;
          gNext = Float64Array.from(gt, (v) => dec(t) * v);
        }
        for (let n = 0; n < N; n++) gr.dh0[sn(n)] = gNext[n];
      }
    }
  }
  return { y, state, grads: gr };
}
