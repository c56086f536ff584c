/**
 * Fused selective scan (Mamba S6 recurrence with its discretization) over plain
 * Float32Arrays: the arithmetic behind the `MambaSelectiveScan` kernels.
 * No tfjs here, so the same loops serve the cpu backend (JS arrays) and the wasm
 * backend (views onto the wasm heap).
 *
 * Shape glossary (all arrays row-major):
 *   B  batch
 *   L  sequence length
 *   ED inner channels (expand * d_model)
 *   N  state size per channel
 *
 * Recurrence, for each batch b and channel e, with h_{-1} = 0:
 *   a_t[n] = exp(delta_t[e] * A[e, n])
 *   h_t[n] = a_t[n] * h_{t-1}[n] + delta_t[e] * Bm_t[n] * x_t[e]
 *   y_t[e] = sum_n h_t[n] * Cm_t[n] + D[e] * x_t[e]
 *
 * Backward, with g_t[n] = dLoss/dh_t[n] (reverse scan, g_L = 0):
 *   g_t[n]     = dy_t[e] * Cm_t[n] + a_{t+1}[n] * g_{t+1}[n]
 *   dx_t[e]    = dy_t[e] * D[e] + delta_t[e] * sum_n g_t[n] * Bm_t[n]
 *   ddelta_t[e]= sum_n g_t[n] * (Bm_t[n] * x_t[e] + A[e, n] * a_t[n] * h_{t-1}[n])
 *   dA[e, n]   = sum_{b,t} g_t[n] * delta_t[e] * a_t[n] * h_{t-1}[n]
 *   dBm_t[n]   = sum_e g_t[n] * delta_t[e] * x_t[e]
 *   dCm_t[n]   = sum_e dy_t[e] * h_t[n]
 *   dD[e]      = sum_{b,t} dy_t[e] * x_t[e]
 *
 * Memory: the forward keeps only the running state (ED, N); the backward keeps,
 * per (b, e) channel, the L x N states and decays it recomputes, never
 * (B, L, ED, N). Running state and every cross-step sum are float64.
 */

/** Sizes of a fused scan call. */
export interface FusedScanDims {
  /** Batch size. */
  B: number;
  /** Sequence length. */
  L: number;
  /** Inner channels. */
  ED: number;
  /** State size. */
  N: number;
}

/** The six gradients of the fused scan, laid out like the matching inputs. */
export interface FusedScanGrads {
  /** (B, L, ED) */
  dx: Float32Array;
  /** (B, L, ED) */
  ddelta: Float32Array;
  /** (ED, N) */
  dA: Float32Array;
  /** (B, L, N) */
  dB: Float32Array;
  /** (B, L, N) */
  dC: Float32Array;
  /** (ED) */
  dD: Float32Array;
}

/** Throws unless `arr` holds exactly `expected` elements. */
function checkLength(name: string, arr: ArrayLike<number>, expected: number, shape: string): void {
  if (arr.length !== expected) {
    throw new Error(`fusedScan: ${name} must have ${expected} elements ${shape}, got ${arr.length}`);
  }
}

/** Throws unless every dimension is a non-negative integer. */
function checkDims(dims: FusedScanDims): void {
  for (const k of ['B', 'L', 'ED', 'N'] as const) {
    const v = dims[k];
    if (!Number.isInteger(v) || v < 0) throw new Error(`fusedScan: dims.${k} must be a non-negative integer, got ${v}`);
  }
}

/** Validates all scan inputs against `dims`. */
function checkInputs(
  x: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array, D: Float32Array,
  dims: FusedScanDims,
): void {
  checkDims(dims);
  const { B, L, ED, N } = dims;
  const sh = `(B, L, ED) = (${B}, ${L}, ${ED})`;
  const shN = `(B, L, N) = (${B}, ${L}, ${N})`;
  checkLength('x', x, B * L * ED, sh);
  checkLength('delta', delta, B * L * ED, sh);
  checkLength('A', A, ED * N, `(ED, N) = (${ED}, ${N})`);
  checkLength('B', Bm, B * L * N, shN);
  checkLength('C', Cm, B * L * N, shN);
  checkLength('D', D, ED, `(ED) = (${ED})`);
}

/**
 * Forward fused selective scan.
 *
 * Loop order b, t, e, n: every input is read contiguously and the running state
 * for all channels (ED, N) stays in one float64 scratch buffer.
 *
 * @param x     (B, L, ED) input
 * @param delta (B, L, ED) positive step sizes (already softplus-ed)
 * @param A     (ED, N) negative state matrix diagonal
 * @param Bm    (B, L, N) input projection
 * @param Cm    (B, L, N) output projection
 * @param D     (ED) skip weight
 * @param dims  sizes {B, L, ED, N}
 * @param out   optional (B, L, ED) output array (e.g. a wasm-heap view); allocated when omitted
 * @param state optional (B, ED, N) output: each batch's state after its last step (a prompt's, for decoding)
 * @returns y   (B, L, ED)
 */
export function fusedScanForward(
  x: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array, D: Float32Array,
  dims: FusedScanDims, out?: Float32Array, state?: Float32Array,
): Float32Array {
  checkInputs(x, delta, A, Bm, Cm, D, dims);
  const { B, L, ED, N } = dims;
  const y = out ?? new Float32Array(B * L * ED); // (B, L, ED)
  checkLength('out', y, B * L * ED, `(B, L, ED) = (${B}, ${L}, ${ED})`);
  if (state) checkLength('state', state, B * ED * N, `(B, ED, N) = (${B}, ${ED}, ${N})`);
  const h = new Float64Array(ED * N); // (ED, N) running state of batch b
  for (let b = 0; b < B; b++) {
    h.fill(0);
    for (let t = 0; t < L; t++) {
      const rowE = (b * L + t) * ED; // offset of (b, t, :) in (B, L, ED)
      const rowN = (b * L + t) * N; // offset of (b, t, :) in (B, L, N)
      for (let e = 0; e < ED; e++) {
        const dt = delta[rowE + e];
        const xv = x[rowE + e];
        const dtx = dt * xv;
        const off = e * N; // offset of (e, :) in (ED, N)
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const hn = Math.exp(dt * A[off + n]) * h[off + n] + dtx * Bm[rowN + n];
          h[off + n] = hn;
          acc += hn * Cm[rowN + n];
        }
        y[rowE + e] = acc + D[e] * xv;
      }
    }
    state?.set(h, b * ED * N); // (ED, N) of batch b, rounded to float32
  }
  return y;
}

/**
 * Backward fused selective scan: gradients of sum(y * dy) with respect to all six inputs.
 *
 * For each (b, e) channel the states h_t and decays a_t are recomputed forward
 * into two reusable (L + 1, N) / (L, N) float64 scratch buffers (one exp per
 * (t, n)), then a reverse scan accumulates every gradient. dA and dD are summed
 * over the batch in float64, dB and dC over the channels in float64.
 *
 * @param x     (B, L, ED)
 * @param delta (B, L, ED)
 * @param A     (ED, N)
 * @param Bm    (B, L, N)
 * @param Cm    (B, L, N)
 * @param D     (ED)
 * @param dy    (B, L, ED) upstream gradient
 * @param dims  sizes {B, L, ED, N}
 * @param out   optional output arrays (e.g. wasm-heap views); missing ones are allocated.
 *              Every element of every output is overwritten (no need to zero them).
 */
export function fusedScanBackward(
  x: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array, D: Float32Array,
  dy: Float32Array, dims: FusedScanDims, out: Partial<FusedScanGrads> = {},
): FusedScanGrads {
  checkInputs(x, delta, A, Bm, Cm, D, dims);
  const { B, L, ED, N } = dims;
  const sh = `(B, L, ED) = (${B}, ${L}, ${ED})`;
  const shN = `(B, L, N) = (${B}, ${L}, ${N})`;
  checkLength('dy', dy, B * L * ED, sh);
  const dx = out.dx ?? new Float32Array(B * L * ED); // (B, L, ED)
  const ddelta = out.ddelta ?? new Float32Array(B * L * ED); // (B, L, ED)
  const dA = out.dA ?? new Float32Array(ED * N); // (ED, N)
  const dB = out.dB ?? new Float32Array(B * L * N); // (B, L, N)
  const dC = out.dC ?? new Float32Array(B * L * N); // (B, L, N)
  const dD = out.dD ?? new Float32Array(ED); // (ED)
  checkLength('out.dx', dx, B * L * ED, sh);
  checkLength('out.ddelta', ddelta, B * L * ED, sh);
  checkLength('out.dA', dA, ED * N, `(ED, N) = (${ED}, ${N})`);
  checkLength('out.dB', dB, B * L * N, shN);
  checkLength('out.dC', dC, B * L * N, shN);
  checkLength('out.dD', dD, ED, `(ED) = (${ED})`);

  const hS = new Float64Array((L + 1) * N); // (L + 1, N) row t + 1 holds h_t, row 0 is h_{-1} = 0
  const aS = new Float64Array(L * N); // (L, N) a_t
  const g = new Float64Array(N); // (N) carry a_{t+1} * g_{t+1}
  const dAacc = new Float64Array(ED * N); // (ED, N)
  const dDacc = new Float64Array(ED); // (ED)
  const dBacc = new Float64Array(L * N); // (L, N) for the current batch
  const dCacc = new Float64Array(L * N); // (L, N) for the current batch

  for (let b = 0; b < B; b++) {
    dBacc.fill(0);
    dCacc.fill(0);
    const baseE = b * L * ED; // offset of (b, 0, 0) in (B, L, ED)
    const baseN = b * L * N; // offset of (b, 0, 0) in (B, L, N)
    for (let e = 0; e < ED; e++) {
      const off = e * N; // offset of (e, :) in (ED, N)

      // Forward recompute of a_t and h_t for this channel.
      for (let t = 0; t < L; t++) {
        const i = baseE + t * ED + e; // (b, t, e)
        const dt = delta[i];
        const dtx = dt * x[i];
        const rowN = baseN + t * N; // (b, t, :)
        const sPrev = t * N; // h_{t-1} row in hS; a_t row in aS
        const sCur = sPrev + N; // h_t row in hS
        for (let n = 0; n < N; n++) {
          const a = Math.exp(dt * A[off + n]);
          aS[sPrev + n] = a;
          hS[sCur + n] = a * hS[sPrev + n] + dtx * Bm[rowN + n];
        }
      }

      // Reverse scan.
      g.fill(0);
      let dDsum = 0;
      for (let t = L - 1; t >= 0; t--) {
        const i = baseE + t * ED + e; // (b, t, e)
        const dt = delta[i];
        const xv = x[i];
        const dyv = dy[i];
        const dtx = dt * xv;
        const rowN = baseN + t * N; // (b, t, :)
        const sPrev = t * N;
        const sCur = sPrev + N;
        let sumGB = 0; // sum_n g_t[n] Bm_t[n]
        let sumGAah = 0; // sum_n g_t[n] A[e,n] a_t[n] h_{t-1}[n]
        for (let n = 0; n < N; n++) {
          const gn = dyv * Cm[rowN + n] + g[n];
          const a = aS[sPrev + n];
          const gah = gn * a * hS[sPrev + n];
          sumGB += gn * Bm[rowN + n];
          sumGAah += gah * A[off + n];
          dAacc[off + n] += gah * dt;
          dBacc[sPrev + n] += gn * dtx;
          dCacc[sPrev + n] += dyv * hS[sCur + n];
          g[n] = a * gn;
        }
        dx[i] = dyv * D[e] + dt * sumGB;
        ddelta[i] = xv * sumGB + sumGAah;
        dDsum += dyv * xv;
      }
      dDacc[e] += dDsum;
    }
    for (let k = 0; k < L * N; k++) {
      dB[baseN + k] = dBacc[k];
      dC[baseN + k] = dCacc[k];
    }
  }
  for (let k = 0; k < ED * N; k++) dA[k] = dAacc[k];
  for (let e = 0; e < ED; e++) dD[e] = dDacc[e];
  return { dx, ddelta, dA, dB, dC, dD };
}
