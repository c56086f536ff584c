/**
 * WGSL of the fused decoder's matvecs over weights in tfjs's own (in, out) layout: out[b, o] = Σ_i x(b, i)·W[i, o],
 * W stored (I, O) row-major, as ./decodeShaders.ts's per-layer programs use it (in_proj, x_proj, out_proj read
 * as stored: no transposed copy of any weight).
 *
 * Shape letters: B batch, I / O the matvec's input / output width, Wv the vector width (4 when O % 4 = 0, else 1),
 * C vector columns per workgroup, S input slices per workgroup.
 *
 * Each invocation owns one vector column (Wv consecutive outputs) and one slice of the inputs; consecutive
 * invocations read consecutive vec4s of a weight row (coalesced 16-byte loads). When I % 4 = 0 the inputs are read
 * as vec4s too (type XT): a slice takes every S-th quad of rows 4q..4q+3, one input load per batch row for four
 * weight loads (at batch 8 the input loads, not the weights', were the limit); else every S-th row, the loop
 * unrolled four times. The S partial sums of a column meet in a workgroup tree reduction. C is chosen so that a matvec spreads over ≥ {@link TARGET_GROUPS} workgroups where O allows, S so
 * that C·S ≤ 256 and each slice has ≥ 8 rows. Batch ≤ 8: each weight is read once per token (bandwidth-bound).
 */

/** Largest workgroup count along x (WebGPU's default limit). */
export const MAX_GROUPS_X = 65535;
/** Workgroups a column matvec aims for (the H200 has 132 SMs). */
const TARGET_GROUPS = 256;
const MAX_WG = 256;

/** How one column matvec is laid out. */
export interface ColPlan {
  /** Vector width: 4 (vec4 loads) or 1. */
  vw: 1 | 4;
  /** Vector columns per workgroup. */
  c: number;
  /** Input slices per workgroup (a power of two). */
  s: number;
  /** Workgroups as an (x, y) grid under {@link MAX_GROUPS_X}. */
  groups: [number, number];
}

/** The plan of a matvec of I inputs and O outputs. */
export function colPlan(I: number, O: number): ColPlan {
  const vw = O % 4 === 0 ? 4 : 1;
  const ow = O / vw;
  let c = 32;
  while (c > 1 && Math.ceil(ow / c) < TARGET_GROUPS) c /= 2;
  let s = MAX_WG / c;
  while (s > 1 && I / s < 8) s /= 2;
  const n = Math.ceil(ow / c);
  return { vw, c, s, groups: [Math.min(n, MAX_GROUPS_X), Math.ceil(n / MAX_GROUPS_X)] };
}

/** What a column matvec's generated WGSL needs. */
export interface ColMatvecSpec {
  /** Batch rows. */
  B: number;
  I: number;
  O: number;
  /**
   * WGSL declarations before the program (constants and bindings; the weight must be `inW : array<VT>`, the inputs
   * arrays of `XT`, which is vec4<f32> when I % 4 = 0, else f32).
   */
  decls: string;
  /** WGSL expression of the inputs of row `b` at XT index `k` (XT), given the WGSL of b and k; IX: XTs per row. */
  load: (b: string, k: string) => string;
  /** WGSL statements storing output `o` of row `b` whose sum is `v` (f32). */
  store: string;
  /** With norm: scale row b's sums by rsqrt(mean(x²) + eps), x read as `normInput` (IX XTs per row). */
  norm?: { eps: string; normInput: string };
}

/** WGSL of a column matvec (see the file comment); the weight binding's element type is `VT`. */
export function colMatvecShader(q: ColMatvecSpec): string {
  const p = colPlan(q.I, q.O);
  const vt = p.vw === 4 ? 'vec4<f32>' : 'f32';
  const wg = p.c * p.s;
  const part = p.vw === 4 ? 'val[j]' : 'val';
  const xw = q.I % 4 === 0 ? 4 : 1;
  const acc = (w: string) => `for (var b = 0u; b < NB; b++) { acc[b] += (${q.load('b', 'i')}) * ${w}; }`;
  const loop = xw === 4
    ? `
  for (var k = s; k < IX; k += S) {
    let r = k * 4u;
    let w0 = inW[r * OW + cc];
    let w1 = inW[(r + 1u) * OW + cc];
    let w2 = inW[(r + 2u) * OW + cc];
    let w3 = inW[(r + 3u) * OW + cc];
    for (var b = 0u; b < NB; b++) {
      let xq = ${q.load('b', 'k')};
      acc[b] += xq.x * w0 + xq.y * w1 + xq.z * w2 + xq.w * w3;
    }
  }`
    : `
  var i = s;
  while (i + 3u * S < I) {
    let w0 = inW[i * OW + cc];
    let w1 = inW[(i + S) * OW + cc];
    let w2 = inW[(i + 2u * S) * OW + cc];
    let w3 = inW[(i + 3u * S) * OW + cc];
    ${acc('w0')}
    i += S;
    ${acc('w1')}
    i += S;
    ${acc('w2')}
    i += S;
    ${acc('w3')}
    i += S;
  }
  while (i < I) {
    let w0 = inW[i * OW + cc];
    ${acc('w0')}
    i += S;
  }`;
  const norm = q.norm
    ? `
  var rs : array<f32, NB>;
  for (var b = 0u; b < NB; b++) {
    var sq = 0.0;
    for (var k = t; k < IX; k += WG) { let v = ${q.norm.normInput}[b * IX + k]; sq += ${xw === 4 ? 'dot(v, v)' : 'v * v'}; }
    red1[t] = sq;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st = st / 2u) { if (t < st) { red1[t] += red1[t + st]; } workgroupBarrier(); }
    rs[b] = inverseSqrt(red1[0] / f32(I) + ${q.norm.eps});
    workgroupBarrier();
  }`
    : '';
  return `alias VT = ${vt};
alias XT = ${xw === 4 ? 'vec4<f32>' : 'f32'};
const NB : u32 = ${q.B}u;
const I : u32 = ${q.I}u;
const IX : u32 = ${q.I / xw}u;
const O : u32 = ${q.O}u;
const VW : u32 = ${p.vw}u;
const OW : u32 = ${q.O / p.vw}u;
const C : u32 = ${p.c}u;
const S : u32 = ${p.s}u;
const WG : u32 = ${wg}u;
${q.decls}
var<workgroup> red : array<VT, ${wg}>;
${q.norm ? `var<workgroup> red1 : array<f32, ${wg}>;` : ''}
@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_id) lid : vec3<u32>, @builtin(workgroup_id) wid : vec3<u32>) {
  let t = lid.x;
  let c = t % C;
  let s = t / C;
  let col = (wid.x + wid.y * ${MAX_GROUPS_X}u) * C + c;
  let cc = min(col, OW - 1u);${norm}
  var acc : array<VT, NB>;${loop}
  for (var b = 0u; b < NB; b++) {
    red[t] = acc[b];
    workgroupBarrier();
    for (var st = S / 2u; st > 0u; st = st / 2u) { if (s < st) { red[t] += red[t + st * C]; } workgroupBarrier(); }
    if (s == 0u && col < OW) {
      let val = red[c]${q.norm ? ' * rs[b]' : ''};
      for (var j = 0u; j < VW; j++) {
        let o = col * VW + j;
        let v = ${part};${q.store}
      }
    }
  }
}`;
}
