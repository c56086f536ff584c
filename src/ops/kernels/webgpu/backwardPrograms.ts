/**
 * The webgpu fused-scan backward programs (chunked and sequential output passes) and the layout of
 * their single packed output. See ./scan.ts for the algorithm and the shape glossary.
 */
import { GRAD_KERNEL, ProgramUniform, ScanDims, WebGPUProgramLike, X_SIZES, backwardWorkgroupWidth, constants, flatWgslProgram } from './common';

/** Offsets of the regions packed into the backward program's flat output. */
export interface BackwardLayout {
  /** Workgroup width W. */
  W: number;
  /** Channel blocks nEB. */
  nEB: number;
  /** Number of dA/dD partials P. */
  P: number;
  /** B*L*ED: dx at [0, S), ddelta at [S, 2S). */
  S: number;
  /** Start of the dB/dC partials, (2, B, L, N, nEB). */
  offBC: number;
  /** Start of the dA/dD partials, (ED, N + 1, P). */
  offAD: number;
  /** Total floats. */
  total: number;
}

/** Computes {@link BackwardLayout} for a call. */
export function backwardLayout(d: ScanDims, P: number): BackwardLayout {
  const W = backwardWorkgroupWidth(d.N);
  const nEB = Math.ceil(d.ED / W);
  const S = d.B * d.L * d.ED;
  const offBC = 2 * S;
  const offAD = offBC + 2 * d.B * d.L * d.N * nEB;
  const total = offAD + d.ED * (d.N + 1) * P;
  if (total >= 2 ** 31) {
    throw new Error(`${GRAD_KERNEL} (webgpu): output needs ${total} floats, more than i32 indexing allows (2^31 - 1)`);
  }
  return { W, nEB, P, S, offBC, offAD, total };
}

/**
 * Sums of the partials in the packed output, gathered into one gradient: out[i] = Σ_{p < P} packed[off + row(i)·P + p]
 * with row(i) = (i / a)·b + i % a + c. dB and dC are rows i and B·L·N + i of the (2·B·L·N, nEB) block (a = B·L·N,
 * b = 0, c = 0 or B·L·N); dA rows e·(N + 1) + n of the (ED·(N + 1), P) block (a = N, b = N + 1, c = 0), dD rows
 * e·(N + 1) + N (a = 1, b = N + 1, c = N). One dispatch per gradient where slices and sums took three.
 */
export function partialSumProgram(outputShape: number[]): WebGPUProgramLike {
  const body = `
    if (index >= uniforms.size) { return; }
    let row = (index / uniforms.a) * uniforms.b + index % uniforms.a + uniforms.c;
    let base = uniforms.off + row * uniforms.p;
    var s = 0.0;
    for (var k = 0; k < uniforms.p; k++) { s += inPacked[base + k]; }
    result[index] = s;`;
  const size = outputShape.reduce((x, y) => x * y, 1);
  return { ...flatWgslProgram('mambaScanPartialSum', outputShape, size, ['inPacked'], '', body), size: true, uniforms: 'off : i32, p : i32, a : i32, b : i32, c : i32,' };
}

/** Uniforms of {@link partialSumProgram}. */
export function partialSumUniforms(off: number, p: number, a: number, b: number, c: number): ProgramUniform[] {
  return [off, p, a, b, c].map((v) => ({ type: 'int32' as const, data: [v] }));
}

/** Program-defined uniforms of the backward programs (order matches BACKWARD_UNIFORMS). */
export function backwardUniforms(lay: BackwardLayout): ProgramUniform[] {
  return [lay.nEB, lay.S, lay.offBC, lay.offAD, lay.P].map((v) => ({ type: 'int32' as const, data: [v] }));
}
/** WGSL declaration of {@link backwardUniforms}. */
const BACKWARD_UNIFORMS = 'nEB : i32, offS : i32, offBC : i32, offAD : i32, nP : i32,';

/**
 * A backward program: `groups` workgroups of W invocations, output the flat {@link BackwardLayout},
 * uniforms {@link BACKWARD_UNIFORMS}. The shader declares the constants and the workgroup
 * reduction buffer, and its main starts with nb, nl, ned, neb, nc and lane, then runs `body`.
 */
function backwardProgram(
  d: ScanDims, lay: BackwardLayout, shaderKey: string, groups: number, variableNames: string[], body: string,
): WebGPUProgramLike {
  const R = 2 * d.N + 1; // padded row of the reduction buffer: conflict-free writes and reads
  return {
    outputShape: [lay.total],
    shaderKey,
    dispatchLayout: { x: [0] },
    dispatch: [groups, 1, 1],
    variableNames,
    uniforms: BACKWARD_UNIFORMS,
    workgroupSize: [lay.W, 1, 1],
    getUserCode: () => `
  ${constants(d)}
  const SCAN_W : i32 = ${lay.W};
  const SCAN_R : i32 = ${R};
  var<workgroup> scanRed : array<f32, ${lay.W * R}>;   // (W, 2N + 1) per-step dB | dC contributions
  var<workgroup> scanGroup : i32;                      // this workgroup's index, made uniform
  fn main(index : i32) {${X_SIZES}
    let neb = uniforms.nEB;
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    let lane = index % SCAN_W;${body}
  }
  `,
  };
}

/**
 * WGSL: the backward over one chunk [t0, t1). Expects in scope nb, nl, ned, neb, b, eb,
 * lane, e, live, t0, t1 (uniform), av, dv, and vars g (carry entering from the right),
 * dA, dDs, hs with hs[0..N) = the state entering the chunk. Every workgroupBarrier is in
 * control flow that depends on uniforms and constants only (dead lanes add zeros).
 */
const BACKWARD_CHUNK = `
      if (live) {
        for (var t = t0; t < t1; t++) {
          let i = (b * nl + t) * ned + e;
          let r = (b * nl + t) * SCAN_N;
          let dt = inDt[i];
          let dtx = dt * inX[i];
          let row = (t - t0) * SCAN_N;
          for (var n = 0; n < SCAN_N; n++) {
            hs[row + SCAN_N + n] = exp(dt * av[n]) * hs[row + n] + dtx * inB[r + n];
          }
        }
      }
      for (var t = t1 - 1; t >= t0; t--) {
        let rr = lane * SCAN_R;
        if (live) {
          let i = (b * nl + t) * ned + e;
          let r = (b * nl + t) * SCAN_N;
          let dt = inDt[i];
          let xv = inX[i];
          let dyv = inDy[i];
          let dtx = dt * xv;
          let row = (t - t0) * SCAN_N;
          var sumGB = 0.0;     // sum_n g_t B_t
          var sumGAah = 0.0;   // sum_n g_t A a_t h_{t-1}
          for (var n = 0; n < SCAN_N; n++) {
            let a = exp(dt * av[n]);
            let gn = dyv * inC[r + n] + g[n];
            let gah = gn * a * hs[row + n];
            sumGB += gn * inB[r + n];
            sumGAah += gah * av[n];
            dA[n] += gah * dt;
            scanRed[rr + n] = gn * dtx;
            scanRed[rr + SCAN_N + n] = dyv * hs[row + SCAN_N + n];
            g[n] = a * gn;
          }
          result[i] = dyv * dv + dt * sumGB;
          result[uniforms.offS + i] = xv * sumGB + sumGAah;
          dDs += dyv * xv;
        } else {
          for (var j = 0; j < 2 * SCAN_N; j++) { scanRed[rr + j] = 0.0; }
        }
        workgroupBarrier();
        if (b < nb) {
          for (var j = lane; j < 2 * SCAN_N; j += SCAN_W) {
            var s0 = 0.0;
            var s1 = 0.0;
            for (var k = 0; k < SCAN_W; k += 2) {
              s0 += scanRed[k * SCAN_R + j];
              s1 += scanRed[(k + 1) * SCAN_R + j];
            }
            let which = j / SCAN_N;        // 0: dB, 1: dC
            let n = j - which * SCAN_N;
            result[uniforms.offBC + (((which * nb + b) * nl + t) * SCAN_N + n) * neb + eb] = s0 + s1;
          }
        }
        workgroupBarrier();
      }
`;

/** WGSL: loads A[e], D[e] from inAD and declares the backward's per-invocation state. */
const BACKWARD_STATE = `
    var av : array<f32, SCAN_N>;    // (N) A[e, :]
    var dv = 0.0;                    // D[e]
    if (live) {
      for (var n = 0; n < SCAN_N; n++) { av[n] = inAD[e * (SCAN_N + 1) + n]; }
      dv = inAD[e * (SCAN_N + 1) + SCAN_N];
    }
    var g : array<f32, SCAN_N>;     // (N) carry a_{t+1} g_{t+1}
    var dA : array<f32, SCAN_N>;    // (N) sum_t g_t delta_t a_t h_{t-1}
    var dDs = 0.0;                   // sum_t dy_t x_t
    var hs : array<f32, (SCAN_T + 1) * SCAN_N>;   // (T + 1, N) row j = h_{t0 + j - 1}
`;

/** WGSL: writes this invocation's dA/dD partial number `p` into (ED, N + 1, P). */
function writeADPartial(p: string): string {
  return `
    if (live) {
      let o = uniforms.offAD + e * (SCAN_N + 1) * uniforms.nP + ${p};   // (e, 0, p) in (ED, N + 1, P)
      for (var n = 0; n < SCAN_N; n++) { result[o + n * uniforms.nP] = dA[n]; }
      result[o + SCAN_N * uniforms.nP] = dDs;
    }`;
}

/**
 * Chunked backward output pass: one workgroup per (b, c, channel block), one invocation
 * per (b, c, e). Inputs inX, inDt, inAD (ED, N+1), inB, inC, inDy, inHG (B, nC, ED, 2N).
 * Output: the flat {@link BackwardLayout} with P = B * nC.
 */
export function chunkBackwardProgram(d: ScanDims, lay: BackwardLayout): WebGPUProgramLike {
  return backwardProgram(
    d, lay, `mambaScanBwdChunk_N${d.N}_T${d.T}_W${lay.W}`, d.B * d.nC * lay.nEB,
    ['inX', 'inDt', 'inAD', 'inB', 'inC', 'inDy', 'inHG'], `
    if (lane == 0) { scanGroup = index / SCAN_W; }
    let grp = workgroupUniformLoad(&scanGroup);   // (b * nC + c) * nEB + eb, uniform
    let eb = grp % neb;
    let c = (grp / neb) % nc;
    let b = grp / (neb * nc);
    let e = eb * SCAN_W + lane;
    let live = b < nb && e < ned;
    let t0 = c * SCAN_T;
    let t1 = min(nl, t0 + SCAN_T);
    ${BACKWARD_STATE}
    if (live) {
      let o = ((b * nc + c) * ned + e) * 2 * SCAN_N;   // (b, c, e, 0) in (B, nC, ED, 2N)
      for (var n = 0; n < SCAN_N; n++) {
        hs[n] = inHG[o + n];
        g[n] = inHG[o + SCAN_N + n];
      }
    }
    ${BACKWARD_CHUNK}
    ${writeADPartial('b * nc + c')}`,
  );
}

/**
 * Sequential backward: one workgroup per (b, channel block), one invocation per (b, e),
 * chunks walked last to first. Inputs inX, inDt, inAD (ED, N+1), inB, inC, inDy,
 * inH (B, nC, ED, N). Output: the flat {@link BackwardLayout} with P = B.
 */
export function sequentialBackwardProgram(d: ScanDims, lay: BackwardLayout): WebGPUProgramLike {
  return backwardProgram(
    d, lay, `mambaScanBwdSeq_N${d.N}_T${d.T}_W${lay.W}`, d.B * lay.nEB,
    ['inX', 'inDt', 'inAD', 'inB', 'inC', 'inDy', 'inH'], `
    let grp = index / SCAN_W;   // b * nEB + eb
    let eb = grp % neb;
    let b = grp / neb;
    let e = eb * SCAN_W + lane;
    let live = b < nb && e < ned;
    ${BACKWARD_STATE}
    for (var c = nc - 1; c >= 0; c--) {
      let t0 = c * SCAN_T;
      let t1 = min(nl, t0 + SCAN_T);
      if (live) {
        let o = ((b * nc + c) * ned + e) * SCAN_N;   // (b, c, e, 0) in (B, nC, ED, N)
        for (var n = 0; n < SCAN_N; n++) { hs[n] = inH[o + n]; }
      }
      ${BACKWARD_CHUNK}
    }
    ${writeADPartial('b')}`,
  );
}
