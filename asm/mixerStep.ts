/**
 * The recurrent part of a Mamba mixer's decoding step in WebAssembly SIMD (AssemblyScript source), part of the
 * in-heap module (asm/int8.ts re-exports it), driven by src/ops/kernels/mixerStep.ts: the conv step with silu,
 * the float32 projections x_proj and dt_proj (int8 ones go through asm/int8.ts's int8MatMul), and the scan step
 * with softplus, A = −exp(A_log), the D skip and the silu(z) gate — one tfjs kernel instead of about twenty.
 *
 * Shape glossary: B batch, ED inner channels, N state size (a multiple of 4 here), R Δ rank, K conv width,
 * J = R + 2N (x_proj's outputs), M rows, I inputs, O outputs. Pointers are byte offsets; arrays float32, row-major.
 *
 * Same arithmetic as the unfused step (src/layers/mambaBlock.ts step): exp through asm/step.ts's expLanes (the
 * constants at `tbl`, 192 bytes the caller provides, filled here by fillTable: this module may carry no data segment), softplus as asm/softplus.ts
 * computes it (max(x, 0) + 2·atanh(e / (2 + e)), e = exp(−|x|)), silu(x) = x / (1 + exp(−x)).
 */
import { channelStep, expLanes, fillTable } from './step';

/** softplus of the four lanes of x (asm/softplus.ts's method, constants inline). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function softplusLanes(x: v128, tbl: usize): v128 {
  const e = expLanes(f32x4.neg(f32x4.abs(x)), tbl);
  const s = f32x4.div(e, f32x4.add(f32x4.splat(2.0), e));
  const s2 = f32x4.mul(s, s);
  let p = f32x4.splat(<f32>(1.0 / 13));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 11)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 9)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 7)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 5)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 3)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(1.0));
  return f32x4.add(f32x4.pmax(x, f32x4.splat(0)), f32x4.mul(f32x4.add(s, s), p));
}

/**
 * dst[i] = softplus(src[i]) for `count` floats, in place in the heap (the wasm backend's MambaSoftplus; asm/softplus.ts
 * is the same arithmetic in the copying module): vectors of four, then a scalar tail through one lane.
 * @param tbl exp's constants as fillTable (asm/step.ts) lays them out, filled by the caller (once for every chunk)
 */
export function softplusHeapArray(src: usize, dst: usize, count: i32, tbl: usize): void {
  const bytes = <usize>count << 2;
  const vec = bytes & ~(<usize>15);
  let k: usize = 0;
  for (; k < vec; k += 16) v128.store(dst + k, softplusLanes(v128.load(src + k), tbl));
  for (; k < bytes; k += 4) store<f32>(dst + k, f32x4.extract_lane(softplusLanes(f32x4.splat(load<f32>(src + k)), tbl), 0));
}

/** silu of one value: x / (1 + exp(−x)). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function silu1(x: f32, tbl: usize): f32 {
  const e = f32x4.extract_lane(expLanes(f32x4.splat(-x), tbl), 0);
  return x / (<f32>1 + e);
}

/**
 * The conv step and silu: window = [state (K−1 rows), x]; xc = silu(Σ_k w[k]·window[k] + bias); state' = the
 * window's last K−1 rows.
 * @param xz       (B, 2·ED) in_proj's output; x is its first ED columns
 * @param state    (B, K−1, ED)
 * @param w        (K, ED)
 * @param bias     (ED), or 0 for none
 * @param xc       (B, ED) out
 * @param stateOut (B, K−1, ED) out
 */
export function mixerConvSilu(xz: usize, state: usize, w: usize, bias: usize, xc: usize, stateOut: usize, tbl: usize, B: i32, ED: i32, K: i32): void {
  fillTable(tbl);
  const edB = <usize>ED << 2;
  for (let b = 0; b < B; b++) {
    const xb = xz + <usize>b * 2 * edB;
    const sb = state + <usize>b * <usize>(K - 1) * edB;
    const ob = stateOut + <usize>b * <usize>(K - 1) * edB;
    for (let e: usize = 0; e < edB; e += 4) {
      const xv = load<f32>(xb + e);
      let acc: f32 = bias ? load<f32>(bias + e) : 0;
      for (let k = 0; k < K - 1; k++) acc += load<f32>(w + <usize>k * edB + e) * load<f32>(sb + <usize>k * edB + e);
      acc += load<f32>(w + <usize>(K - 1) * edB + e) * xv;
      store<f32>(xc + <usize>b * edB + e, silu1(acc, tbl));
      for (let k = 0; k < K - 2; k++) store<f32>(ob + <usize>k * edB + e, load<f32>(sb + <usize>(k + 1) * edB + e));
      if (K > 1) store<f32>(ob + <usize>(K - 2) * edB + e, xv);
    }
  }
}

/**
 * y (M, O) = x · W [+ bias] for a float32 kernel W (I, O) (tfjs's (in, out) layout), rows of x `xStride` floats
 * apart: each input adds its row of W, four outputs at a time.
 */
export function mixerProjectF32(x: usize, xStride: i32, w: usize, bias: usize, y: usize, M: i32, I: i32, O: i32): void {
  mixerProjectF32Strided(x, xStride, w, O, bias, y, O, M, I, O);
}

/**
 * mixerProjectF32 over O columns of wider matrices: rows of W `wStride` floats apart, rows of y `yStride` apart
 * (a range of columns [o0, o0 + O) with w, bias and y advanced by o0: the thread pool's share of the outputs).
 */
export function mixerProjectF32Strided(x: usize, xStride: i32, w: usize, wStride: i32, bias: usize, y: usize, yStride: i32, M: i32, I: i32, O: i32): void {
  const oB = <usize>O << 2;
  const wB = <usize>wStride << 2;
  const yB = <usize>yStride << 2;
  const vec = oB & ~(<usize>15);
  const i4 = I & ~3;
  let m = 0;
  // Four, then two rows at a time (batched decoding): each vector of W is loaded once for them all, each row's
  // arithmetic unchanged.
  for (; m + 4 <= M; m += 4) projectRowQuad(x + ((<usize>m * <usize>xStride) << 2), <usize>xStride << 2, w, wB, bias, y + <usize>m * yB, yB, I, oB);
  for (; m + 2 <= M; m += 2) projectRowPair(x + ((<usize>m * <usize>xStride) << 2), x + ((<usize>(m + 1) * <usize>xStride) << 2), w, wB, bias, y + <usize>m * yB, y + <usize>(m + 1) * yB, I, oB);
  for (; m < M; m++) {
    const xm = x + ((<usize>m * <usize>xStride) << 2);
    const ym = y + <usize>m * yB;
    for (let o: usize = 0; o < oB; o += 4) store<f32>(ym + o, bias ? load<f32>(bias + o) : 0);
    // Four inputs at a time: each vector of y is loaded and stored once per four rows of W.
    let i = 0;
    for (; i < i4; i += 4) {
      const xi = xm + (<usize>i << 2);
      const x0 = f32x4.splat(load<f32>(xi));
      const x1 = f32x4.splat(load<f32>(xi, 4));
      const x2 = f32x4.splat(load<f32>(xi, 8));
      const x3 = f32x4.splat(load<f32>(xi, 12));
      const w0 = w + <usize>i * wB;
      const w1 = w0 + wB;
      const w2 = w1 + wB;
      const w3 = w2 + wB;
      let o: usize = 0;
      for (; o < vec; o += 16) {
        const a = f32x4.add(f32x4.mul(x0, v128.load(w0 + o)), f32x4.mul(x1, v128.load(w1 + o)));
        const b = f32x4.add(f32x4.mul(x2, v128.load(w2 + o)), f32x4.mul(x3, v128.load(w3 + o)));
        v128.store(ym + o, f32x4.add(v128.load(ym + o), f32x4.add(a, b)));
      }
      for (; o < oB; o += 4) {
        const a = load<f32>(xi) * load<f32>(w0 + o) + load<f32>(xi, 4) * load<f32>(w1 + o);
        const b = load<f32>(xi, 8) * load<f32>(w2 + o) + load<f32>(xi, 12) * load<f32>(w3 + o);
        store<f32>(ym + o, load<f32>(ym + o) + (a + b));
      }
    }
    for (; i < I; i++) {
      const xi = load<f32>(xm + (<usize>i << 2));
      const xv = f32x4.splat(xi);
      const wi = w + <usize>i * wB;
      let o: usize = 0;
      for (; o < vec; o += 16) v128.store(ym + o, f32x4.add(v128.load(ym + o), f32x4.mul(xv, v128.load(wi + o))));
      for (; o < oB; o += 4) store<f32>(ym + o, load<f32>(ym + o) + xi * load<f32>(wi + o));
    }
  }
}

/** One row's update of a vector of y by four rows of W (v0 … v3) and four inputs at xi: y + ((x0 v0 + x1 v1) + (x2 v2 + x3 v3)). */
// @ts-ignore: decorator valid in AssemblyScript
@inline
function rowUpdate(y: v128, xi: usize, v0: v128, v1: v128, v2: v128, v3: v128): v128 {
  const a = f32x4.add(f32x4.mul(v128.load32_splat(xi), v0), f32x4.mul(v128.load32_splat(xi, 4), v1));
  const b = f32x4.add(f32x4.mul(v128.load32_splat(xi, 8), v2), f32x4.mul(v128.load32_splat(xi, 12), v3));
  return f32x4.add(y, f32x4.add(a, b));
}

/**
 * Four rows of mixerProjectF32Strided at once, x rows xB bytes apart from x, y rows yB apart from y: each vector of W
 * is loaded once for the four; each row's operations are the one-row loop's, in its order (so the same bits). The
 * inputs are splatted from memory where used (sixteen would not stay in registers). Edges go to the pair and the
 * one-row code, row by row.
 */
function projectRowQuad(x: usize, xB: usize, w: usize, wB: usize, bias: usize, y: usize, yB: usize, I: i32, oB: usize): void {
  const vec = oB & ~(<usize>15);
  const i4 = I & ~3;
  if (vec < oB || i4 < I) { // tails: two pairs
    projectRowPair(x, x + xB, w, wB, bias, y, y + yB, I, oB);
    projectRowPair(x + 2 * xB, x + 3 * xB, w, wB, bias, y + 2 * yB, y + 3 * yB, I, oB);
    return;
  }
  for (let o: usize = 0; o < oB; o += 4) {
    const b0: f32 = bias ? load<f32>(bias + o) : 0;
    for (let r: usize = 0; r < 4; r++) store<f32>(y + r * yB + o, b0);
  }
  for (let i = 0; i < i4; i += 4) {
    const xi = x + (<usize>i << 2);
    const w0 = w + <usize>i * wB;
    const w1 = w0 + wB;
    const w2 = w1 + wB;
    const w3 = w2 + wB;
    for (let o: usize = 0; o < vec; o += 16) {
      const v0 = v128.load(w0 + o);
      const v1 = v128.load(w1 + o);
      const v2 = v128.load(w2 + o);
      const v3 = v128.load(w3 + o);
      v128.store(y + o, rowUpdate(v128.load(y + o), xi, v0, v1, v2, v3));
      v128.store(y + yB + o, rowUpdate(v128.load(y + yB + o), xi + xB, v0, v1, v2, v3));
      v128.store(y + 2 * yB + o, rowUpdate(v128.load(y + 2 * yB + o), xi + 2 * xB, v0, v1, v2, v3));
      v128.store(y + 3 * yB + o, rowUpdate(v128.load(y + 3 * yB + o), xi + 3 * xB, v0, v1, v2, v3));
    }
  }
}

/**
 * Rows xa, xb of mixerProjectF32Strided at once into ya, yb (oB bytes of outputs, rows of W wB bytes apart): per row
 * the same operations in the same order as the one-row loop (so the same bits), each vector of W loaded once.
 */
function projectRowPair(xa: usize, xb: usize, w: usize, wB: usize, bias: usize, ya: usize, yb: usize, I: i32, oB: usize): void {
  const vec = oB & ~(<usize>15);
  const i4 = I & ~3;
  for (let o: usize = 0; o < oB; o += 4) {
    const b0: f32 = bias ? load<f32>(bias + o) : 0;
    store<f32>(ya + o, b0);
    store<f32>(yb + o, b0);
  }
  let i = 0;
  for (; i < i4; i += 4) {
    const ia = xa + (<usize>i << 2);
    const ib = xb + (<usize>i << 2);
    const a0 = f32x4.splat(load<f32>(ia));
    const a1 = f32x4.splat(load<f32>(ia, 4));
    const a2 = f32x4.splat(load<f32>(ia, 8));
    const a3 = f32x4.splat(load<f32>(ia, 12));
    const c0 = f32x4.splat(load<f32>(ib));
    const c1 = f32x4.splat(load<f32>(ib, 4));
    const c2 = f32x4.splat(load<f32>(ib, 8));
    const c3 = f32x4.splat(load<f32>(ib, 12));
    const w0 = w + <usize>i * wB;
    const w1 = w0 + wB;
    const w2 = w1 + wB;
    const w3 = w2 + wB;
    let o: usize = 0;
    for (; o < vec; o += 16) {
      const v0 = v128.load(w0 + o);
      const v1 = v128.load(w1 + o);
      const v2 = v128.load(w2 + o);
      const v3 = v128.load(w3 + o);
      v128.store(ya + o, f32x4.add(v128.load(ya + o), f32x4.add(f32x4.add(f32x4.mul(a0, v0), f32x4.mul(a1, v1)), f32x4.add(f32x4.mul(a2, v2), f32x4.mul(a3, v3)))));
      v128.store(yb + o, f32x4.add(v128.load(yb + o), f32x4.add(f32x4.add(f32x4.mul(c0, v0), f32x4.mul(c1, v1)), f32x4.add(f32x4.mul(c2, v2), f32x4.mul(c3, v3)))));
    }
    for (; o < oB; o += 4) {
      const u0 = load<f32>(w0 + o);
      const u1 = load<f32>(w1 + o);
      const u2 = load<f32>(w2 + o);
      const u3 = load<f32>(w3 + o);
      store<f32>(ya + o, load<f32>(ya + o) + ((load<f32>(ia) * u0 + load<f32>(ia, 4) * u1) + (load<f32>(ia, 8) * u2 + load<f32>(ia, 12) * u3)));
      store<f32>(yb + o, load<f32>(yb + o) + ((load<f32>(ib) * u0 + load<f32>(ib, 4) * u1) + (load<f32>(ib, 8) * u2 + load<f32>(ib, 12) * u3)));
    }
  }
  for (; i < I; i++) {
    const sa = load<f32>(xa + (<usize>i << 2));
    const sb = load<f32>(xb + (<usize>i << 2));
    const va = f32x4.splat(sa);
    const vb = f32x4.splat(sb);
    const wi = w + <usize>i * wB;
    let o: usize = 0;
    for (; o < vec; o += 16) {
      const v = v128.load(wi + o);
      v128.store(ya + o, f32x4.add(v128.load(ya + o), f32x4.mul(va, v)));
      v128.store(yb + o, f32x4.add(v128.load(yb + o), f32x4.mul(vb, v)));
    }
    for (; o < oB; o += 4) {
      const u = load<f32>(wi + o);
      store<f32>(ya + o, load<f32>(ya + o) + sa * u);
      store<f32>(yb + o, load<f32>(yb + o) + sb * u);
    }
  }
}

/**
 * The scan step and the gate: Δ = softplus(dtRaw); h' = exp(Δ·A)·h + Δ·x·B with A = −exp(A_log);
 * y = (h'·C + D·x) · silu(z).
 * @param h     (B, ED, N)
 * @param xc    (B, ED) the conv's output
 * @param dtRaw (B, ED) dt_proj's output with its bias, before softplus
 * @param aLog  (ED, N)
 * @param dbc   (B, J) x_proj's output: B at column R, C at column R + N
 * @param D     (ED)
 * @param xz    (B, 2·ED) in_proj's output; z is its last ED columns
 * @param y     (B, ED) out
 * @param hOut  (B, ED, N) out
 */
export function mixerScanGate(
  h: usize, xc: usize, dtRaw: usize, aLog: usize, dbc: usize, D: usize, xz: usize, y: usize, hOut: usize, tbl: usize,
  B: i32, ED: i32, N: i32, R: i32,
): void {
  fillTable(tbl);
  const nBytes = <usize>N << 2;
  const jB = <usize>(R + 2 * N) << 2;
  for (let b = 0; b < B; b++) {
    const bm = dbc + <usize>b * jB + (<usize>R << 2);
    const cm = bm + nBytes;
    // Δ for the whole row first (in place), four channels at a time, then the tail.
    const row = dtRaw + ((<usize>b * <usize>ED) << 2);
    const edB = <usize>ED << 2;
    const vec = edB & ~(<usize>15);
    let k: usize = 0;
    for (; k < vec; k += 16) v128.store(row + k, softplusLanes(v128.load(row + k), tbl));
    for (; k < edB; k += 4) store<f32>(row + k, f32x4.extract_lane(softplusLanes(f32x4.splat(load<f32>(row + k)), tbl), 0));
    for (let e = 0; e < ED; e++) {
      const be = (<usize>b * <usize>ED + <usize>e) << 2;
      const xv = load<f32>(xc + be);
      const hRow = (<usize>b * <usize>ED + <usize>e) * nBytes;
      const s = channelStep(h + hRow, hOut + hRow, aLog + <usize>e * nBytes, true, bm, cm, load<f32>(dtRaw + be), xv, nBytes, tbl);
      const z = load<f32>(xz + ((<usize>b * 2 * <usize>ED + <usize>ED + <usize>e) << 2));
      store<f32>(y + be, (s + load<f32>(D + (<usize>e << 2)) * xv) * silu1(z, tbl));
    }
  }
}

/**
 * RMS norm of rows for a decoding step: y[m] = (x[m] · (mean(x[m]²) + eps)^−½) · w, x and y (M, D), w (D).
 */
export function rmsNormRows(x: usize, w: usize, y: usize, M: i32, D: i32, eps: f32): void {
  const dB = <usize>D << 2;
  const vec = dB & ~(<usize>15);
  for (let m = 0; m < M; m++) {
    const xm = x + <usize>m * dB;
    const ym = y + <usize>m * dB;
    let acc = f32x4.splat(0);
    let k: usize = 0;
    for (; k < vec; k += 16) {
      const v = v128.load(xm + k);
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    let ss: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; k < dB; k += 4) ss += load<f32>(xm + k) * load<f32>(xm + k);
    const r: f32 = <f32>1 / Mathf.sqrt(ss / <f32>D + eps);
    const rv = f32x4.splat(r);
    k = 0;
    for (; k < vec; k += 16) v128.store(ym + k, f32x4.mul(f32x4.mul(v128.load(xm + k), rv), v128.load(w + k)));
    for (; k < dB; k += 4) store<f32>(ym + k, load<f32>(xm + k) * r * load<f32>(w + k));
  }
}
