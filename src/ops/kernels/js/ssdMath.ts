/**
 * Fused Mamba-2 (SSD) scan over plain Float32Arrays: the arithmetic behind the `MambaSsdScan` kernels on cpu, and
 * the fallback of the wasm ones (../simd/ssd.ts). No tfjs here.
 *
 * Shape glossary (all arrays row-major): B batch, L length, H heads, P head dim, G groups (head h reads group
 * h / (H/G)), N state size.
 *
 * Forward, for each batch b, head h (group g), channel p, with s_{−1} = h0[b, h, p, :]:
 *   a_t      = exp(dt_t[h] · A[h])                              one decay per (b, t, h)
 *   s_t[n]   = a_t · s_{t−1}[n] + dt_t[h] · x_t[h, p] · B_t[g, n]
 *   y_t[h,p] = Σ_n s_t[n] · C_t[g, n] + D[h] · x_t[h, p]
 *   state    = s_{L−1}                                          (B, H, P, N)
 *
 * Backward (gradients of Σ y·dy + Σ state·dstate), per (b, h, p) channel, with the carry ĝ_t = a_{t+1}·g_{t+1}
 * (ĝ_{L−1} = dstate) and g_t = dy_t·C_t + ĝ_t:
 *   dx_t   = dy_t·D[h] + dt_t·(g_t·B_t)            dB_t[g] += dt_t·x_t·g_t      dC_t[g] += dy_t·s_t
 *   dD[h] += dy_t·x_t                              dh0 = a_0·g_0
 * The decay's gradient dl_t = ∂/∂(dt_t·A) = a_t·(g_t·s_{t−1}) would need the states in reverse order. Instead,
 * with Λ_k = Σ_{τ≤k} dt_τ·A the cumulative log-decay, every (output i, source j < i) pair depends on Λ_i − Λ_j, so
 *   ∂/∂Λ_k = a_k·(s_{k−1}·(dy_k·C_k [+ dstate at k = L−1]))  −  dt_k·x_k·(B_k·ĝ_k) [k < L−1]
 * (the first term from k as an output, computed going forward; the second from k as a source, going backward), and
 *   dl_t = Σ_{k≥t} ∂/∂Λ_k,   ddt_t[h] += x_t·(g_t·B_t) + A[h]·dl_t,   dA[h] += dt_t·dl_t.
 * So the backward runs one forward and one reverse walk per channel and stores no state at all: scratch O(L + N)
 * per channel, O(B·L·(H + G·N)) for the cross-channel sums. Running states and every cross-step sum are float64.
 */

/** Sizes of a fused SSD call. */
export interface SsdDims {
  /** Batch. */
  B: number;
  /** Length. */
  L: number;
  /** Heads. */
  H: number;
  /** Head dim. */
  P: number;
  /** Groups of B and C (divides H). */
  G: number;
  /** State size. */
  N: number;
}

/** The inputs of the fused SSD scan, flat. */
export interface SsdArrays {
  /** (B, L, H, P) */
  x: Float32Array;
  /** (B, L, H) Δ after softplus */
  dt: Float32Array;
  /** (H) A per head, negative */
  A: Float32Array;
  /** (B, L, G, N) */
  Bm: Float32Array;
  /** (B, L, G, N) */
  Cm: Float32Array;
  /** (H) skip weight */
  D: Float32Array;
  /** (B, H, P, N) state before the first step */
  h0: Float32Array;
}

/** The forward's outputs. */
export interface SsdOutputs {
  /** (B, L, H, P) */
  y: Float32Array;
  /** (B, H, P, N) the state after the last step */
  state: Float32Array;
}

/** The seven gradients, laid out like the matching inputs. */
export interface SsdGrads {
  /** (B, L, H, P) */
  dx: Float32Array;
  /** (B, L, H) */
  ddt: Float32Array;
  /** (H) */
  dA: Float32Array;
  /** (B, L, G, N) */
  dB: Float32Array;
  /** (B, L, G, N) */
  dC: Float32Array;
  /** (H) */
  dD: Float32Array;
  /** (B, H, P, N) */
  dh0: Float32Array;
}

/** Element counts of every array of a call, by name. */
export function ssdSizes(d: SsdDims): Record<keyof SsdArrays | 'y' | 'state', number> {
  const { B, L, H, P, G, N } = d;
  const e = B * L * H * P;
  const gn = B * L * G * N;
  return { x: e, dt: B * L * H, A: H, Bm: gn, Cm: gn, D: H, h0: B * H * P * N, y: e, state: B * H * P * N };
}

/** Throws unless the sizes are non-negative integers with G dividing H and every [name, array, length] matches. */
export function checkSsd(d: SsdDims, arrays: [string, ArrayLike<number> | undefined, number][]): void {
  for (const k of ['B', 'L', 'H', 'P', 'G', 'N'] as const) {
    if (!Number.isInteger(d[k]) || d[k] < 0) throw new Error(`fusedSsd: dims.${k} must be a non-negative integer, got ${d[k]}`);
  }
  if (d.G < 1 || d.H % d.G !== 0) throw new Error(`fusedSsd: groups G must divide heads H, got G ${d.G}, H ${d.H}`);
  for (const [name, arr, want] of arrays) {
    if (arr != null && arr.length !== want) {
      throw new Error(`fusedSsd: ${name} must have ${want} elements for (B, L, H, P, G, N) = (${d.B}, ${d.L}, ${d.H}, ${d.P}, ${d.G}, ${d.N}), got ${arr.length}`);
    }
  }
}

/** [name, array, expected length] of every input, for {@link checkSsd}. */
function inputEntries(i: SsdArrays, d: SsdDims): [string, ArrayLike<number> | undefined, number][] {
  const sz = ssdSizes(d);
  return (['x', 'dt', 'A', 'Bm', 'Cm', 'D', 'h0'] as const).map((k) => [k, i[k], sz[k]]);
}

/**
 * Forward fused SSD scan. Loop order b, t, h, p, n; the running state (H, P, N) of batch b in float64.
 * @param out optional output arrays (e.g. wasm-heap views), fully overwritten; allocated when missing
 */
export function ssdForward(i: SsdArrays, d: SsdDims, out: Partial<SsdOutputs> = {}): SsdOutputs {
  const sz = ssdSizes(d);
  checkSsd(d, [...inputEntries(i, d), ['out.y', out.y, sz.y], ['out.state', out.state, sz.state]]);
  const { B, L, H, P, G, N } = d;
  const y = out.y ?? new Float32Array(sz.y); // (B, L, H, P)
  const state = out.state ?? new Float32Array(sz.state); // (B, H, P, N)
  const hpg = H / G; // heads per group
  const s = new Float64Array(H * P * N); // (H, P, N) running state of batch b
  for (let b = 0; b < B; b++) {
    const sb = b * H * P * N; // (b, 0, 0, 0) in (B, H, P, N)
    for (let k = 0; k < H * P * N; k++) s[k] = i.h0[sb + k];
    for (let t = 0; t < L; t++) {
      const bt = b * L + t;
      for (let h = 0; h < H; h++) {
        const dt = i.dt[bt * H + h];
        const a = Math.exp(dt * i.A[h]);
        const rowN = (bt * G + Math.floor(h / hpg)) * N; // (b, t, g, 0) in (B, L, G, N)
        for (let p = 0; p < P; p++) {
          const ix = (bt * H + h) * P + p; // (b, t, h, p)
          const xv = i.x[ix];
          const dtx = dt * xv;
          const off = (h * P + p) * N; // (h, p, 0) in (H, P, N)
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const v = a * s[off + n] + dtx * i.Bm[rowN + n];
            s[off + n] = v;
            acc += v * i.Cm[rowN + n];
          }
          y[ix] = acc + i.D[h] * xv;
        }
      }
    }
    for (let k = 0; k < H * P * N; k++) state[sb + k] = s[k];
  }
  return { y, state };
}

/**
 * Backward fused SSD scan: the seven gradients of Σ y·dy + Σ state·dstate (see the header for the math).
 * @param dy     (B, L, H, P) upstream gradient of y
 * @param dstate (B, H, P, N) upstream gradient of the final state
 * @param out    optional output arrays, fully overwritten; allocated when missing
 */
export function ssdBackward(
  i: SsdArrays, dy: Float32Array, dstate: Float32Array, d: SsdDims, out: Partial<SsdGrads> = {},
): SsdGrads {
  const sz = ssdSizes(d);
  checkSsd(d, [
    ...inputEntries(i, d), ['dy', dy, sz.y], ['dstate', dstate, sz.state], ['out.dx', out.dx, sz.x], ['out.ddt', out.ddt, sz.dt],
    ['out.dA', out.dA, sz.A], ['out.dB', out.dB, sz.Bm], ['out.dC', out.dC, sz.Cm], ['out.dD', out.dD, sz.D], ['out.dh0', out.dh0, sz.h0],
  ]);
  const { B, L, H, P, G, N } = d;
  const g: SsdGrads = {
    dx: out.dx ?? new Float32Array(sz.x), ddt: out.ddt ?? new Float32Array(sz.dt), dA: out.dA ?? new Float32Array(H),
    dB: out.dB ?? new Float32Array(sz.Bm), dC: out.dC ?? new Float32Array(sz.Cm), dD: out.dD ?? new Float32Array(H),
    dh0: out.dh0 ?? new Float32Array(sz.h0),
  };
  const hpg = H / G;
  const s = new Float64Array(N); // (N) state of the channel
  const gh = new Float64Array(N); // (N) carry ĝ
  const fw = new Float64Array(L); // (L) the forward term of ∂/∂Λ_t
  const aS = new Float64Array(L); // (L) decays a_t of the head
  const ddt = new Float64Array(L * H); // (L, H) of batch b
  const dBm = new Float64Array(L * G * N); // (L, G, N) of batch b
  const dCm = new Float64Array(L * G * N); // (L, G, N) of batch b
  const dA = new Float64Array(H);
  const dD = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    ddt.fill(0);
    dBm.fill(0);
    dCm.fill(0);
    for (let h = 0; h < H; h++) {
      const Ah = i.A[h];
      const gOff = Math.floor(h / hpg) * N; // (g, 0) in (G, N)
      for (let t = 0; t < L; t++) aS[t] = Math.exp(i.dt[(b * L + t) * H + h] * Ah);
      for (let p = 0; p < P; p++) {
        const sOff = ((b * H + h) * P + p) * N; // (b, h, p, 0) in (B, H, P, N)
        for (let n = 0; n < N; n++) s[n] = i.h0[sOff + n];
        // Forward walk: fw_t = a_t·(s_{t−1}·(dy_t C_t)), dC.
        for (let t = 0; t < L; t++) {
          const bt = b * L + t;
          const ix = (bt * H + h) * P + p;
          const dyv = dy[ix];
          const dtx = i.dt[bt * H + h] * i.x[ix];
          const a = aS[t];
          const rowN = bt * G * N + gOff; // (b, t, g, 0)
          const accOff = t * G * N + gOff; // (t, g, 0) in (L, G, N)
          let sc = 0;
          let sd = 0;
          for (let n = 0; n < N; n++) {
            sc += s[n] * i.Cm[rowN + n];
            if (t === L - 1) sd += s[n] * dstate[sOff + n];
            const v = a * s[n] + dtx * i.Bm[rowN + n];
            s[n] = v;
            dCm[accOff + n] += dyv * v;
          }
          fw[t] = a * (dyv * sc + sd);
        }
        // Reverse walk: g, dx, dB, ddt, dA, dD.
        for (let n = 0; n < N; n++) gh[n] = dstate[sOff + n];
        let cum = 0; // dl_t = Σ_{k≥t} ∂/∂Λ_k
        let dDsum = 0;
        let dAsum = 0;
        for (let t = L - 1; t >= 0; t--) {
          const bt = b * L + t;
          const ix = (bt * H + h) * P + p;
          const dyv = dy[ix];
          const dt = i.dt[bt * H + h];
          const xv = i.x[ix];
          const dtx = dt * xv;
          const a = aS[t];
          const rowN = bt * G * N + gOff;
          const accOff = t * G * N + gOff;
          let gB = 0;
          let ghB = 0;
          for (let n = 0; n < N; n++) {
            const bn = i.Bm[rowN + n];
            const gn = dyv * i.Cm[rowN + n] + gh[n];
            gB += gn * bn;
            ghB += gh[n] * bn;
            dBm[accOff + n] += gn * dtx;
            gh[n] = a * gn;
          }
          cum += fw[t] - (t === L - 1 ? 0 : dtx * ghB);
          g.dx[ix] = dyv * i.D[h] + dt * gB;
          ddt[t * H + h] += xv * gB + Ah * cum;
          dAsum += dt * cum;
          dDsum += dyv * xv;
        }
        for (let n = 0; n < N; n++) g.dh0[sOff + n] = gh[n];
        dA[h] += dAsum;
        dD[h] += dDsum;
      }
    }
    for (let k = 0; k < L * H; k++) g.ddt[b * L * H + k] = ddt[k];
    for (let k = 0; k < L * G * N; k++) {
      g.dB[b * L * G * N + k] = dBm[k];
      g.dC[b * L * G * N + k] = dCm[k];
    }
  }
  for (let h = 0; h < H; h++) {
    g.dA[h] = dA[h];
    g.dD[h] = dD[h];
  }
  return g;
}
