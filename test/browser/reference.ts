/**
 * Float64 references for the WGSL kernel checks, written here from the definitions (not the project's
 * loops): the selective scan with discretization and its adjoint, the causal depthwise conv and its
 * gradients, and the SiLU derivative. Small sizes only (the scan keeps every state, (B, L, ED, N)).
 */
import type { ConvDims, ScanDims } from './pages/protocol';

type Arr = ArrayLike<number>;

/** Scan outputs: y and the gradients of sum(y * w). */
export interface ScanRef { y: Float64Array; dx: Float64Array; ddelta: Float64Array; dA: Float64Array; dB: Float64Array; dC: Float64Array; dD: Float64Array }

/**
 * h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t x_t (h_0 = 0), y_t = h_t · C_t + D x_t, per (b, e); then the adjoint
 * G_t = ∂loss/∂h_t = w_t C_t + exp(Δ_{t+1} A) ⊙ G_{t+1} walked from the end.
 */
export function scanReference(d: ScanDims, x: Arr, delta: Arr, A: Arr, Bm: Arr, Cm: Arr, D: Arr, w: Arr): ScanRef {
  const { B, L, ED, N } = d;
  const r: ScanRef = {
    y: new Float64Array(B * L * ED), dx: new Float64Array(B * L * ED), ddelta: new Float64Array(B * L * ED),
    dA: new Float64Array(ED * N), dB: new Float64Array(B * L * N), dC: new Float64Array(B * L * N), dD: new Float64Array(ED),
  };
  const h = new Float64Array((L + 1) * N); // states h_0..h_L of one (b, e)
  const G = new Float64Array(N);
  for (let b = 0; b < B; b++) {
    for (let e = 0; e < ED; e++) {
      const at = (t: number) => (b * L + t) * ED + e; // (B, L, ED) index
      const bn = (t: number, n: number) => (b * L + t) * N + n; // (B, L, N) index
      h.fill(0);
      for (let t = 0; t < L; t++) {
        let y = D[e] * x[at(t)];
        for (let n = 0; n < N; n++) {
          const hv = Math.exp(delta[at(t)] * A[e * N + n]) * h[t * N + n] + delta[at(t)] * Bm[bn(t, n)] * x[at(t)];
          h[(t + 1) * N + n] = hv;
          y += hv * Cm[bn(t, n)];
        }
        r.y[at(t)] = y;
      }
      G.fill(0);
      for (let t = L - 1; t >= 0; t--) {
        const wt = w[at(t)];
        const dt = delta[at(t)];
        const xt = x[at(t)];
        let dx = wt * D[e];
        let dd = 0;
        r.dD[e] += wt * xt;
        for (let n = 0; n < N; n++) {
          const a = A[e * N + n];
          // G_t: from y_t directly, plus from h_{t+1} = exp(Δ_{t+1} A) h_t + … (carried in G).
          const g = wt * Cm[bn(t, n)] + (t + 1 < L ? Math.exp(delta[at(t + 1)] * a) * G[n] : 0);
          G[n] = g;
          const hPrev = h[t * N + n];
          const decay = Math.exp(dt * a);
          r.dC[bn(t, n)] += wt * h[(t + 1) * N + n];
          r.dB[bn(t, n)] += g * dt * xt;
          r.dA[e * N + n] += g * dt * decay * hPrev;
          dd += g * (a * decay * hPrev + Bm[bn(t, n)] * xt);
          dx += g * dt * Bm[bn(t, n)];
        }
        r.dx[at(t)] = dx;
        r.ddelta[at(t)] = dd;
      }
    }
  }
  return r;
}

/** Conv outputs: y and the gradients for upstream dy. */
export interface ConvRef { y: Float64Array; dx: Float64Array; dweight: Float64Array; dbias: Float64Array }

/** y[b, t, e] = bias[e] + Σ_{j=0}^{K−1} weight[K−1−j, e] · x[b, t − j, e] (x = 0 before the start). */
export function convReference(d: ConvDims, x: Arr, weight: Arr, bias: Arr, dy: Arr): ConvRef {
  const { B, L, ED, K } = d;
  const r: ConvRef = { y: new Float64Array(B * L * ED), dx: new Float64Array(B * L * ED), dweight: new Float64Array(K * ED), dbias: new Float64Array(ED) };
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      for (let e = 0; e < ED; e++) {
        const i = (b * L + t) * ED + e;
        let y = bias[e];
        r.dbias[e] += dy[i];
        for (let j = 0; j < K && j <= t; j++) { // lag j: tap K−1−j
          const src = (b * L + t - j) * ED + e;
          y += weight[(K - 1 - j) * ED + e] * x[src];
          r.dx[src] += weight[(K - 1 - j) * ED + e] * dy[i];
          r.dweight[(K - 1 - j) * ED + e] += x[src] * dy[i];
        }
        r.y[i] = y;
      }
    }
  }
  return r;
}

/** d/dx [x · σ(x)] · dy = dy · (σ(x) + x σ(x)(1 − σ(x))). */
export function siluGradReference(x: Arr, dy: Arr): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => {
    const s = 1 / (1 + Math.exp(-x[i]));
    return dy[i] * (s + x[i] * s * (1 - s));
  });
}

/** Float64 RMS normalization over the last axis (size d) and its gradient for dy: y = x·r, dx = r·(dy − y·mean(dy·y)). */
export function rmsReference(x: Arr, dy: Arr, d: number, eps: number): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += d) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / d + eps);
    let m = 0;
    for (let i = 0; i < d; i++) m += dy[o + i] * x[o + i] * r;
    m /= d;
    for (let i = 0; i < d; i++) {
      y[o + i] = x[o + i] * r;
      dx[o + i] = r * (dy[o + i] - y[o + i] * m);
    }
  }
  return { y, dx };
}

/** The gates in float64: silu x·σ(x), siluMul g·x·σ(x), sigmoidMul g·σ(x). */
export function gateReference(op: 'silu' | 'siluMul' | 'sigmoidMul', x: Arr, g: Arr): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => {
    const s = 1 / (1 + Math.exp(-x[i]));
    return op === 'silu' ? x[i] * s : op === 'siluMul' ? g[i] * x[i] * s : g[i] * s;
  });
}

/** One Adam step in float64 with the kernel's attrs (tf.train.adam's arithmetic): m', v', p'. */
export function adamReference(a: Record<string, number>, g: Arr, m: Arr, v: Arr, p: Arr): { m: Float64Array; v: Float64Array; p: Float64Array } {
  const out = { m: new Float64Array(g.length), v: new Float64Array(g.length), p: new Float64Array(g.length) };
  for (let i = 0; i < g.length; i++) {
    out.m[i] = m[i] * a.b1 + g[i] * a.oneMinusB1;
    out.v[i] = v[i] * a.b2 + g[i] * g[i] * a.oneMinusB2;
    out.p[i] = p[i] + (out.m[i] / a.oneMinusAcc1 / (Math.sqrt(out.v[i] / a.oneMinusAcc2) + a.eps)) * a.negLr;
  }
  return out;
}

/** max|a − b| / max|b| (NaN counts as Infinity). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    d = Number.isNaN(e) ? Infinity : Math.max(d, e);
    m = Math.max(m, Math.abs(b[i]));
  }
  return b.length === 0 ? 0 : d / Math.max(m, 1e-30);
}
