/**
 * WGSL of the fused decoding step (./decoder.ts runs it): per token 4 programs per layer plus 3 (embedding,
 * head, argmax), instead of tfjs's ~30 small kernels per layer.
 *
 * Shape letters: B batch, D model width, ED inner channels, N state size, R Δ rank, K conv width,
 * V padded vocabulary, P = R + 2N (x_proj's outputs), O / I a matvec's output / input width.
 *
 * Programs of one layer (x: the residual stream (B, D), in place):
 *   normIn   xz (B, 2ED) = rmsnorm(x) · W_in (+ bias), then per channel e < ED the conv step (shifting the conv
 *            state in place) and silu: xc (B, ED)                          matvec, W_in stored (D, 2ED)
 *   xProj    dbc (B, P) = xc · W_x                                         matvec, W_x stored (ED, P)
 *   scanStep per (b, e): Δ = softplus(dt_proj), the state update h' = exp(Δ·A)·h + Δ·x·B (in place),
 *            y = h'·C + D·x, gated by silu(z)                                                     (B, ED)
 *   outProj  x += y · W_out (+ bias)                                       matvec, W_out stored (ED, D)
 * and per token: embed (x = E[ids]), head (logits (B, V) = rmsnorm_f(x) · Eᵀ, E stored (V, D)), argmax (ids).
 *
 * The layers' matvecs read the weights in tfjs's (in, out) layout, as stored (./colMatvec.ts: no transposed
 * copies); the head reads the embedding (V, D) row-major: a workgroup of {@link MATVEC_WG} invocations computes
 * ROWS output rows for all B rows of the batch, each invocation summing every WG-th input, then a workgroup tree
 * reduction. All are bandwidth-bound (batch ≤ 8: each weight is read once per token).
 *
 * The per-layer small parameters live in one packed buffer (see {@link packedOffsets}).
 */

import { MAX_GROUPS_X, colMatvecShader } from './colMatvec';

/** Sizes of the decoder (all known when the shaders are generated: nothing is passed as uniforms). */
export interface DecodeDims {
  B: number;
  D: number;
  ED: number;
  N: number;
  R: number;
  K: number;
  V: number;
  /** eps of the RMS norms. */
  eps: number;
}

/** Invocations per matvec workgroup. */
export const MATVEC_WG = 64;
/** Invocations per workgroup of the elementwise programs and of argmax. */
export const FLAT_WG = 64;
const ARGMAX_WG = 256;

/** Offsets (in floats) into the packed per-layer buffer: conv weight (K, ED), conv bias, dt bias, D (ED each), A_log (ED, N). */
export function packedOffsets(d: DecodeDims): { convW: number; convB: number; dtB: number; dSkip: number; aLog: number; size: number } {
  const { K, ED, N } = d;
  return { convW: 0, convB: K * ED, dtB: (K + 1) * ED, dSkip: (K + 2) * ED, aLog: (K + 3) * ED, size: (K + 3) * ED + ED * N };
}

/** Output rows per matvec workgroup: keeps ROWS · B accumulators ≤ 32. */
export function matvecRows(B: number): number {
  return Math.max(1, Math.min(4, Math.floor(32 / B)));
}

/** Workgroups of a matvec of O outputs, as a (x, y) grid under {@link MAX_GROUPS_X}. */
export function matvecGroups(O: number, B: number): [number, number] {
  const n = Math.ceil(O / matvecRows(B));
  return [Math.min(n, MAX_GROUPS_X), Math.ceil(n / MAX_GROUPS_X)];
}

const f = (x: number) => (Number.isInteger(x) ? `${x}.0` : x.toExponential());

/** WGSL of one binding. */
function bind(i: number, name: string, access: 'read' | 'read_write', type = 'f32'): string {
  return `@group(0) @binding(${i}) var<storage, ${access}> ${name} : array<${type}>;`;
}

const silu = (x: string) => `(${x} / (1.0 + exp(-${x})))`;

/** WGSL constants of the sizes (withNb false: NB is declared by ./colMatvec.ts's program). */
function header(d: DecodeDims, withNb = true): string {
  return `${withNb ? `
const NB : u32 = ${d.B}u;` : ''}
const D : u32 = ${d.D}u;
const ED : u32 = ${d.ED}u;
const N : u32 = ${d.N}u;
const R : u32 = ${d.R}u;
const K : u32 = ${d.K}u;
const V : u32 = ${d.V}u;
const P : u32 = ${d.R + 2 * d.N}u;`;
}

/**
 * A matvec out[b, o] = Σ_i x(b, i) · W[o, i], then `store` (with `val`, `b`, `o` in scope). Inputs are read as
 * `VT` (vec4<f32> when I % 4 = 0, else f32): i counts VTs, IV of them; `dotv` is their dot product.
 * @param load WGSL setting `xv[b]` (and, with norm, `ss[b]`: the sum of squares of the raw inputs) for input i
 * @param norm scale each sum by rsqrt(mean(raw²) + eps) (the RMS norm; the norm weight goes into `load`)
 */
function matvec(d: DecodeDims, I: number, O: number, bindings: string, load: string, store: string, norm: boolean): string {
  const vw = I % 4 === 0 ? 4 : 1;
  const rows = matvecRows(d.B);
  const acc = rows * d.B;
  const slots = acc + (norm ? d.B : 0);
  return `${header(d)}
alias VT = ${vw === 4 ? 'vec4<f32>' : 'f32'};
fn dotv(a : VT, b : VT) -> f32 { return ${vw === 4 ? 'dot(a, b)' : 'a * b'}; }
const I : u32 = ${I}u;
const IV : u32 = ${I / vw}u;
const O : u32 = ${O}u;
const ROWS : u32 = ${rows}u;
const WG : u32 = ${MATVEC_WG}u;
const ACC : u32 = ${acc}u;
const SLOTS : u32 = ${slots}u;
${bindings}
var<workgroup> red : array<f32, ${slots * MATVEC_WG}>;
@compute @workgroup_size(${MATVEC_WG})
fn main(@builtin(local_invocation_id) lid : vec3<u32>, @builtin(workgroup_id) wid : vec3<u32>) {
  let t = lid.x;
  let o0 = (wid.x + wid.y * ${MAX_GROUPS_X}u) * ROWS;
  if (o0 >= O) { return; }
  var acc : array<f32, ${acc}>;
  var ss : array<f32, ${d.B}>;
  var xv : array<VT, ${d.B}>;
  for (var i = t; i < IV; i += WG) {
    for (var b = 0u; b < NB; b++) {${load}
    }
    for (var r = 0u; r < ROWS; r++) {
      let w = inW[min(o0 + r, O - 1u) * IV + i];
      for (var b = 0u; b < NB; b++) { acc[r * NB + b] += dotv(xv[b], w); }
    }
  }
  for (var j = 0u; j < ACC; j++) { red[j * WG + t] = acc[j]; }
  ${norm ? 'for (var b = 0u; b < NB; b++) { red[(ACC + b) * WG + t] = ss[b]; }' : ''}
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (t < s) { for (var j = 0u; j < SLOTS; j++) { red[j * WG + t] += red[j * WG + t + s]; } }
    workgroupBarrier();
  }
  if (t < ACC) {
    let b = t % NB;
    let o = o0 + t / NB;
    if (o < O) {
      var val = red[t * WG];
      ${norm ? `val *= inverseSqrt(red[(ACC + b) * WG] / f32(I) + ${f(d.eps)});` : ''}${store}
    }
  }
}`;
}

/** normIn: bindings inX (B, D), inNorm (D), inW (D, 2ED), inBias (2ED), inP (packed), ioConv (B, K−1, ED), out xz (B, 2ED), out xc (B, ED). */
export function normInShader(d: DecodeDims): string {
  const o = packedOffsets(d);
  const decls = `${header(d, false)}
${[bind(0, 'inX', 'read', 'XT'), bind(1, 'inNorm', 'read', 'XT'), bind(2, 'inW', 'read', 'VT'), bind(3, 'inBias', 'read'), bind(4, 'inP', 'read'),
    bind(5, 'ioConv', 'read_write'), bind(6, 'outXZ', 'read_write'), bind(7, 'outXC', 'read_write')].join('\n')}`;
  return colMatvecShader({
    B: d.B, I: d.D, O: 2 * d.ED, decls, load: (b, k) => `inX[${b} * IX + ${k}] * inNorm[${k}]`, norm: { eps: f(d.eps), normInput: 'inX' }, store: `
        let xin = v + inBias[o];
        outXZ[b * O + o] = xin;
        if (o < ED) {
          var cv = inP[${o.convB}u + o] + xin * inP[(K - 1u) * ED + o];
          for (var k = 0u; k < K - 1u; k++) { cv += ioConv[(b * (K - 1u) + k) * ED + o] * inP[k * ED + o]; }
          for (var k = 0u; k + 1u < K - 1u; k++) { ioConv[(b * (K - 1u) + k) * ED + o] = ioConv[(b * (K - 1u) + k + 1u) * ED + o]; }
          ioConv[(b * (K - 1u) + K - 2u) * ED + o] = xin;
          outXC[b * ED + o] = ${silu('cv')};
        }`,
  });
}

/** xProj: bindings inXC (B, ED), inW (ED, P), out dbc (B, P). */
export function xProjShader(d: DecodeDims): string {
  const decls = `${header(d, false)}
${[bind(0, 'inXC', 'read', 'XT'), bind(1, 'inW', 'read', 'VT'), bind(2, 'outDBC', 'read_write')].join('\n')}`;
  return colMatvecShader({ B: d.B, I: d.ED, O: d.R + 2 * d.N, decls, load: (b, k) => `inXC[${b} * IX + ${k}]`, store: `
        outDBC[b * O + o] = v;` });
}

/** outProj: bindings inY (B, ED), inW (ED, D), inBias (D), x (B, D) read and written: x += y · W + bias. */
export function outProjShader(d: DecodeDims): string {
  const decls = `${header(d, false)}
${[bind(0, 'inY', 'read', 'XT'), bind(1, 'inW', 'read', 'VT'), bind(2, 'inBias', 'read'), bind(3, 'ioX', 'read_write')].join('\n')}`;
  return colMatvecShader({ B: d.B, I: d.ED, O: d.D, decls, load: (b, k) => `inY[${b} * IX + ${k}]`, store: `
        ioX[b * O + o] = ioX[b * O + o] + v + inBias[o];` });
}

/** head: bindings inX (B, D), inNorm (D), inW (V, D), out logits (B, V). */
export function headShader(d: DecodeDims): string {
  return matvec(d, d.D, d.V, [bind(0, 'inX', 'read', 'VT'), bind(1, 'inNorm', 'read', 'VT'), bind(2, 'inW', 'read', 'VT'), bind(3, 'outLogits', 'read_write')].join('\n'), `
      let raw = inX[b * IV + i];
      ss[b] += dotv(raw, raw);
      xv[b] = raw * inNorm[i];`, `
      outLogits[b * O + o] = val;`, true);
}

/**
 * scanStep, one invocation per (b, e): bindings inXZ (B, 2ED) (z), inXC (B, ED), inP (packed), inDBC (B, P),
 * inDt (R, ED) (dt_proj, tfjs layout), ioH (B, ED, N), out y (B, ED).
 */
export function scanStepShader(d: DecodeDims): string {
  const o = packedOffsets(d);
  return `${header(d)}
${[bind(0, 'inXZ', 'read'), bind(1, 'inXC', 'read'), bind(2, 'inP', 'read'), bind(3, 'inDBC', 'read'), bind(4, 'inDt', 'read'), bind(5, 'ioH', 'read_write'), bind(6, 'outY', 'read_write')].join('\n')}
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let idx = gid.x;
  if (idx >= NB * ED) { return; }
  let b = idx / ED;
  let e = idx % ED;
  let xc = inXC[idx];
  let row = b * P;
  var dt = inP[${o.dtB}u + e];
  for (var r = 0u; r < R; r++) { dt += inDBC[row + r] * inDt[r * ED + e]; }
  let delta = select(max(dt, 0.0) + log(1.0 + exp(-abs(dt))), dt, dt > 20.0);
  let u = delta * xc;
  var y = 0.0;
  for (var n = 0u; n < N; n++) {
    let a = -exp(inP[${o.aLog}u + e * N + n]);
    let h = exp(delta * a) * ioH[idx * N + n] + u * inDBC[row + R + n];
    ioH[idx * N + n] = h;
    y += h * inDBC[row + R + N + n];
  }
  y += inP[${o.dSkip}u + e] * xc;
  let z = inXZ[b * (2u * ED) + ED + e];
  outY[idx] = y * ${silu('z')};
}`;
}

/** embed, one invocation per (b, d): bindings inIds (B) i32, inE (V, D), out x (B, D). */
export function embedShader(d: DecodeDims): string {
  return `${header(d)}
${[bind(0, 'inIds', 'read', 'i32'), bind(1, 'inE', 'read'), bind(2, 'outX', 'read_write')].join('\n')}
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let idx = gid.x;
  if (idx >= NB * D) { return; }
  let id = u32(clamp(inIds[idx / D], 0, i32(V) - 1));
  outX[idx] = inE[id * D + idx % D];
}`;
}

/** argmax, one workgroup per row b: bindings inLogits (B, V), out ids (B) i32; the first index on ties. */
export function argmaxShader(d: DecodeDims): string {
  return `${header(d)}
${[bind(0, 'inLogits', 'read'), bind(1, 'outIds', 'read_write', 'i32')].join('\n')}
const WG : u32 = ${ARGMAX_WG}u;
var<workgroup> bestV : array<f32, ${ARGMAX_WG}>;
var<workgroup> bestI : array<u32, ${ARGMAX_WG}>;
@compute @workgroup_size(${ARGMAX_WG})
fn main(@builtin(local_invocation_id) lid : vec3<u32>, @builtin(workgroup_id) wid : vec3<u32>) {
  let t = lid.x;
  let b = wid.x;
  var bv = bitcast<f32>(0xff7fffffu); // the lowest f32
  var bi = V;
  for (var v = t; v < V; v += WG) {
    let x = inLogits[b * V + v];
    if (x > bv || (bi == V && x == bv)) { bv = x; bi = v; }
  }
  bestV[t] = bv;
  bestI[t] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (t < s) {
      let ov = bestV[t + s];
      let oi = bestI[t + s];
      if (ov > bestV[t] || (ov == bestV[t] && oi < bestI[t])) { bestV[t] = ov; bestI[t] = oi; }
    }
    workgroupBarrier();
  }
  if (t == 0u) { outIds[b] = i32(select(bestI[0], 0u, bestI[0] >= V)); }
}`;
}
