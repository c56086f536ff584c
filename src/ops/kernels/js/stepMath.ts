/**
 * The loops of the fused decoding-step kernels (../step.ts), over flat float32 arrays, so that the cpu and
 * wasm kernels share them.
 *
 * Shape letters: B batch, ED inner channels, N state size, K conv width.
 */

/** Sizes of a selective-scan step. */
export interface StepDims {
  B: number;
  ED: number;
  N: number;
}

/**
 * One step of the selective scan, in place into `y` and `hOut`:
 *   h' = exp(Δ·A) · h + Δ·x·B,   y = h' · C + D·x
 * @param h (B, ED, N)  x, delta (B, ED)  A (ED, N)  Bm, Cm (B, N)  D (ED)
 * @param y (B, ED) output   hOut (B, ED, N) output (may not alias h)
 */
export function selectiveStepLoop(
  h: Float32Array, x: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array,
  D: Float32Array, dims: StepDims, y: Float32Array, hOut: Float32Array,
): void {
  const { B, ED, N } = dims;
  for (let b = 0; b < B; b++) {
    const bn = b * N;
    for (let e = 0; e < ED; e++) {
      const be = b * ED + e;
      const dt = delta[be];
      const xv = x[be];
      const u = dt * xv;
      const hBase = be * N;
      const aBase = e * N;
      let acc = 0;
      for (let n = 0; n < N; n++) {
        const hn = Math.exp(dt * A[aBase + n]) * h[hBase + n] + u * Bm[bn + n];
        hOut[hBase + n] = hn;
        acc += hn * Cm[bn + n];
      }
      y[be] = acc + D[e] * xv;
    }
  }
}

/** Sizes of a conv step. */
export interface ConvStepDims {
  B: number;
  K: number;
  ED: number;
}

/**
 * One step of the causal depthwise conv, in place into `out` and `stateOut`:
 *   out = Σ_{k<K−1} state_k · w_k + x · w_{K−1} + bias,   state' = (state_1, …, state_{K−2}, x)
 * @param state (B, K−1, ED)  x (B, ED)  w (K, ED)  bias (ED)
 * @param out (B, ED) output   stateOut (B, K−1, ED) output (may not alias state)
 */
export function convStepLoop(
  state: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array, dims: ConvStepDims,
  out: Float32Array, stateOut: Float32Array,
): void {
  const { B, K, ED } = dims;
  const s = K - 1;
  for (let b = 0; b < B; b++) {
    const sBase = b * s * ED;
    for (let e = 0; e < ED; e++) {
      const xv = x[b * ED + e];
      let acc = bias[e] + xv * w[s * ED + e];
      for (let k = 0; k < s; k++) acc += state[sBase + k * ED + e] * w[k * ED + e];
      out[b * ED + e] = acc;
      for (let k = 0; k < s - 1; k++) stateOut[sBase + k * ED + e] = state[sBase + (k + 1) * ED + e];
      if (s > 0) stateOut[sBase + (s - 1) * ED + e] = xv;
    }
  }
}
