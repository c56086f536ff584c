/**
 * The WGSL programs of the fused Mamba-2 (SSD) scan on 'webgpu' (run by ./ssd.ts; math in ../js/ssdMath.ts).
 *
 * Shape glossary: B batch, L length, H heads, P head dim, G groups (head h reads group h / (H/G)), N state size,
 * T steps per checkpoint chunk, nC = ⌈L / T⌉ chunks. Every size is a WGSL constant (the shader key names them).
 *
 *   forward   per (b, h, p): walks L with its state (N) in private memory; out [y (B, L, H, P) | state (B, H, P, N)].
 *   gradX     per (b, h, p): a forward walk that checkpoints the state entering each chunk, then the chunks last to
 *             first: the chunk's T + 1 states recomputed into this invocation's slice of the output (scratch), and a
 *             reverse walk with the carry ĝ (N): dx, ddt (per p; summed over P afterwards), dA and dD partials (per
 *             (b, h, p)), dh0. dl_t = a_t·(g_t·s_{t−1}) is read off the recomputed states.
 *   gradBC    per (b, h, n): the same recurrence transposed, state and carry over P in private memory: a forward walk
 *             for dC_t[n] = Σ_p dy_t[p]·s_t[p, n] and a reverse walk for dB_t[n] = Σ_p g_t[p, n]·dt_t·x_t[p], per
 *             head (B, L, H, N): summed over the heads of a group afterwards.
 * No float atomics and no (B, L, H, P, N) partials: the two sums over channels are split by which index they run
 * over. Storage: ≤ 7 inputs + the output (WebGPU's default limit is 8 storage buffers), so A and D travel as one
 * (H, 2) tensor and h0, dstate as one flat tensor where both are needed.
 */
import { WebGPUProgramLike, flatWgslProgram } from './common';
import type { SsdDims } from '../js/ssdMath';

/** Sizes with the checkpoint chunk T of the gradient. */
export interface SsdGpuDims extends SsdDims {
  /** Steps per checkpoint chunk. */
  T: number;
  /** ⌈L / T⌉. */
  nC: number;
}

/** T ≈ √L in [4, 32]: checkpoints (L/T per channel) and scratch (T per channel) both O(√L·N) per channel. */
export function ssdGpuDims(d: SsdDims): SsdGpuDims {
  const T = Math.max(4, Math.min(32, Math.ceil(Math.sqrt(d.L))));
  return { ...d, T, nC: Math.ceil(d.L / T) };
}

/** WGSL constants. */
function consts(d: SsdGpuDims): string {
  return `
  const NB : i32 = ${d.B};
  const NL : i32 = ${d.L};
  const NH : i32 = ${d.H};
  const NP : i32 = ${d.P};
  const NG : i32 = ${d.G};
  const NN : i32 = ${d.N};
  const TT : i32 = ${d.T};
  const NC : i32 = ${d.nC};
  const HPG : i32 = ${d.H / d.G};`;
}

function key(name: string, d: SsdGpuDims): string {
  return `mambaSsd${name}_${d.B}_${d.L}_${d.H}_${d.P}_${d.G}_${d.N}_${d.T}`;
}

/**
 * WGSL: (b, h, p) of a per-channel invocation, returning when out of range. The batch comes from uniforms.inXShape
 * (equal to NB): a shader that reads no uniform loses the uniform binding from its layout, which tfjs always binds.
 */
const CHANNEL = `
    if (index >= uniforms.inXShape.x * NH * NP) { return; }
    let p = index % NP;
    let h = (index / NP) % NH;
    let b = index / (NP * NH);
    let bhp = index;                       // (b, h, p) in (B, H, P)
    let gi = h / HPG;`;

/** Output element counts of the gradX program's packed layout, in order. */
export function gradXLayout(d: SsdGpuDims): { e: number; s: number; ck: number; sc: number; total: number } {
  const e = d.B * d.L * d.H * d.P;
  const s = d.B * d.H * d.P * d.N;
  const ck = s * d.nC;
  const sc = s * (d.T + 1);
  return { e, s, ck, sc, total: 2 * e + 2 * d.B * d.H * d.P + s + ck + sc };
}

/** Forward: inputs inX, inDt, inA, inB, inC, inD, inH0; out [y | state]. */
export function ssdForwardProgram(d: SsdGpuDims): WebGPUProgramLike {
  const e = d.B * d.L * d.H * d.P;
  return flatWgslProgram(key('Fwd', d), [e + d.B * d.H * d.P * d.N], d.B * d.H * d.P,
    ['inX', 'inDt', 'inA', 'inB', 'inC', 'inD', 'inH0'], consts(d), `${CHANNEL}
    var s : array<f32, ${d.N}>;
    for (var n = 0; n < NN; n++) { s[n] = inH0[bhp * NN + n]; }
    let ah = inA[h];
    let dv = inD[h];
    for (var t = 0; t < NL; t++) {
      let it = (b * NL + t) * NH + h;      // (b, t, h)
      let ix = it * NP + p;                 // (b, t, h, p)
      let r = ((b * NL + t) * NG + gi) * NN; // (b, t, g, 0)
      let dt = inDt[it];
      let a = exp(dt * ah);
      let xv = inX[ix];
      let dtx = dt * xv;
      var acc = 0.0;
      for (var n = 0; n < NN; n++) {
        let v = a * s[n] + dtx * inB[r + n];
        s[n] = v;
        acc += v * inC[r + n];
      }
      result[ix] = acc + dv * xv;
    }
    for (var n = 0; n < NN; n++) { result[${e} + bhp * NN + n] = s[n]; }`);
}

/**
 * Gradient per (b, h, p): inputs inX, inDt, inAD (H, 2), inB, inC, inDy, inHS [h0 | dstate]; out (flat)
 * [dx | ddt per p (B, L, H, P) | dA per (b, h, p) | dD per (b, h, p) | dh0 | checkpoints | scratch].
 */
export function ssdGradXProgram(d: SsdGpuDims): WebGPUProgramLike {
  const lay = gradXLayout(d);
  const offDdt = lay.e;
  const offDA = 2 * lay.e;
  const offDD = offDA + d.B * d.H * d.P;
  const offDh0 = offDD + d.B * d.H * d.P;
  const offCk = offDh0 + lay.s;
  const offSc = offCk + lay.ck;
  return flatWgslProgram(key('GradX', d), [lay.total], d.B * d.H * d.P,
    ['inX', 'inDt', 'inAD', 'inB', 'inC', 'inDy', 'inHS'], consts(d), `${CHANNEL}
    let ah = inAD[h * 2];
    let dv = inAD[h * 2 + 1];
    let ck = ${offCk} + bhp * NC * NN;     // this channel's checkpoints (nC, N)
    let sc = ${offSc} + bhp * (TT + 1) * NN; // this channel's scratch (T + 1, N)
    var s : array<f32, ${d.N}>;
    for (var n = 0; n < NN; n++) { s[n] = inHS[bhp * NN + n]; }
    for (var c = 0; c < NC; c++) {
      for (var n = 0; n < NN; n++) { result[ck + c * NN + n] = s[n]; }
      for (var t = c * TT; t < min(NL, (c + 1) * TT); t++) {
        let it = (b * NL + t) * NH + h;
        let r = ((b * NL + t) * NG + gi) * NN;
        let dt = inDt[it];
        let a = exp(dt * ah);
        let dtx = dt * inX[it * NP + p];
        for (var n = 0; n < NN; n++) { s[n] = a * s[n] + dtx * inB[r + n]; }
      }
    }
    var gh : array<f32, ${d.N}>;         // carry ĝ
    for (var n = 0; n < NN; n++) { gh[n] = inHS[${lay.s} + bhp * NN + n]; }
    var dAs = 0.0;
    var dDs = 0.0;
    for (var c = NC - 1; c >= 0; c--) {
      let t0 = c * TT;
      let t1 = min(NL, t0 + TT);
      for (var n = 0; n < NN; n++) { result[sc + n] = result[ck + c * NN + n]; }
      for (var t = t0; t < t1; t++) {
        let it = (b * NL + t) * NH + h;
        let r = ((b * NL + t) * NG + gi) * NN;
        let dt = inDt[it];
        let a = exp(dt * ah);
        let dtx = dt * inX[it * NP + p];
        let o = sc + (t - t0) * NN;
        for (var n = 0; n < NN; n++) { result[o + NN + n] = a * result[o + n] + dtx * inB[r + n]; }
      }
      for (var t = t1 - 1; t >= t0; t--) {
        let it = (b * NL + t) * NH + h;
        let ix = it * NP + p;
        let r = ((b * NL + t) * NG + gi) * NN;
        let dt = inDt[it];
        let a = exp(dt * ah);
        let xv = inX[ix];
        let dyv = inDy[ix];
        let o = sc + (t - t0) * NN;         // s_{t-1}
        var gB = 0.0;
        var gs = 0.0;
        for (var n = 0; n < NN; n++) {
          let gn = dyv * inC[r + n] + gh[n];
          gB += gn * inB[r + n];
          gs += gn * result[o + n];
          gh[n] = a * gn;
        }
        let dl = a * gs;
        result[ix] = dyv * dv + dt * gB;
        result[${offDdt} + ix] = xv * gB + ah * dl;
        dAs += dt * dl;
        dDs += dyv * xv;
      }
    }
    result[${offDA} + bhp] = dAs;
    result[${offDD} + bhp] = dDs;
    for (var n = 0; n < NN; n++) { result[${offDh0} + bhp * NN + n] = gh[n]; }`);
}

/** Gradient per (b, h, n): inputs inX, inDt, inA, inB, inC, inDy, inHS [h0 | dstate]; out [dB | dC] per head (2, B, L, H, N). */
export function ssdGradBCProgram(d: SsdGpuDims): WebGPUProgramLike {
  const half = d.B * d.L * d.H * d.N;
  const s = d.B * d.H * d.P * d.N;
  return flatWgslProgram(key('GradBC', d), [2 * half], d.B * d.H * d.N,
    ['inX', 'inDt', 'inA', 'inB', 'inC', 'inDy', 'inHS'], consts(d), `
    if (index >= uniforms.inXShape.x * NH * NN) { return; }   // the batch NB, read as in CHANNEL
    let n = index % NN;
    let h = (index / NN) % NH;
    let b = index / (NN * NH);
    let gi = h / HPG;
    let ah = inA[h];
    var s : array<f32, ${d.P}>;           // s[:, n] over P
    for (var p = 0; p < NP; p++) { s[p] = inHS[((b * NH + h) * NP + p) * NN + n]; }
    for (var t = 0; t < NL; t++) {
      let it = (b * NL + t) * NH + h;
      let bt = (b * NL + t) * NG + gi;
      let dt = inDt[it];
      let a = exp(dt * ah);
      let dbn = dt * inB[bt * NN + n];
      var acc = 0.0;
      for (var p = 0; p < NP; p++) {
        let v = a * s[p] + dbn * inX[it * NP + p];
        s[p] = v;
        acc += inDy[it * NP + p] * v;
      }
      result[${half} + it * NN + n] = acc;
    }
    for (var p = 0; p < NP; p++) { s[p] = inHS[${s} + ((b * NH + h) * NP + p) * NN + n]; }  // carry ĝ[:, n]
    for (var t = NL - 1; t >= 0; t--) {
      let it = (b * NL + t) * NH + h;
      let bt = (b * NL + t) * NG + gi;
      let dt = inDt[it];
      let a = exp(dt * ah);
      let cn = inC[bt * NN + n];
      var acc = 0.0;
      for (var p = 0; p < NP; p++) {
        let gn = inDy[it * NP + p] * cn + s[p];
        acc += gn * inX[it * NP + p];
        s[p] = a * gn;
      }
      result[it * NN + n] = dt * acc;
    }`);
}
