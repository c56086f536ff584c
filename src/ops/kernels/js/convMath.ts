/**
 * Depthwise causal conv1d with bias, forward and backward, as JS loops over Float32Array (the reference and
 * fallback of the SIMD module's convForward/convBackward, asm/conv.ts).
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   K  conv width (tap K−1 is the current step)
 *
 * y[b, t, e] = bias[e] + Σ_k weight[k, e] · x[b, t − (K−1) + k, e], zeros before the start.
 * Weight and bias gradients accumulate in float64.
 */

/** Sizes of one conv. */
export interface ConvDims {
  B: number;
  L: number;
  ED: number;
  K: number;
}

/** y (B, L, ED) = causal depthwise conv of x (B, L, ED) with weight (K, ED), plus bias (ED). */
export function convForward(x: Float32Array, w: Float32Array, bias: Float32Array, { B, L, ED, K }: ConvDims, y: Float32Array): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const yo = (b * L + t) * ED;
      for (let e = 0; e < ED; e++) y[yo + e] = bias[e];
      for (let k = Math.max(0, K - 1 - t); k < K; k++) {
        const xo = (b * L + t - (K - 1) + k) * ED;
        const wo = k * ED;
        for (let e = 0; e < ED; e++) y[yo + e] += w[wo + e] * x[xo + e];
      }
    }
  }
}

/** Gradients of sum(y · dy) with respect to x, weight and bias. */
export function convBackward(
  x: Float32Array, w: Float32Array, dy: Float32Array, { B, L, ED, K }: ConvDims,
  dx: Float32Array, dw: Float32Array, dbias: Float32Array,
): void {
  const accW = new Float64Array(K * ED); // (K, ED)
  const accB = new Float64Array(ED); // (ED)
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const go = (b * L + t) * ED;
      for (let e = 0; e < ED; e++) accB[e] += dy[go + e];
      for (let k = Math.max(0, K - 1 - t); k < K; k++) {
        const xo = (b * L + t - (K - 1) + k) * ED;
        const wo = k * ED;
        for (let e = 0; e < ED; e++) {
          const g = dy[go + e];
          accW[wo + e] += g * x[xo + e];
          dx[xo + e] += g * w[wo + e];
        }
      }
    }
  }
  dw.set(accW);
  dbias.set(accB);
}

