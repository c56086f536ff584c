/**
 * The webgpu fused-scan programs that walk the recurrence forward: the chunked mode's local,
 * combine and output passes, and the sequential mode's forward and checkpoint passes.
 * See ./scan.ts for the algorithm and the shape glossary.
 */
import { LOAD_A, ScanDims, WebGPUProgramLike, X_SIZES, flatProgram } from './common';

/**
 * WGSL: sizes from uniforms.inXShape and the (b, c, e) of a per-chunk invocation
 * (index = (b * nC + c) * ED + e, e fastest: coalesced), returning when out of range;
 * the chunk's steps [t0, t1) and av.
 */
const CHUNK_PROLOGUE = `${X_SIZES}
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    if (index >= nb * nc * ned) { return; }
    let e = index % ned;
    let c = (index / ned) % nc;
    let b = index / (ned * nc);
    let t0 = c * SCAN_T;
    let t1 = min(nl, t0 + SCAN_T);${LOAD_A}`;

/**
 * WGSL: the (b, e) of a per-channel invocation (index = b * ED + e) with nb, `second` and ned
 * from uniforms.<input>Shape, returning when out of range; and av.
 */
function channelPrologue(input: string, second: string): string {
  return `
    let nb = uniforms.${input}Shape.x;
    let ${second} = uniforms.${input}Shape.y;
    let ned = uniforms.${input}Shape.z;
    if (index >= nb * ned) { return; }
    let b = index / ned;
    let e = index - b * ned;${LOAD_A}`;
}

/**
 * WGSL: one step t of the recurrence from a zero-input start, on state array `h` (N):
 * h = exp(delta_t A) h + delta_t x_t B_t. Declares i, r, dt and dtx; `extra` runs before the update.
 */
function stateStep(h: string, extra = ''): string {
  return `
      let i = (b * nl + t) * ned + e;   // (b, t, e) in (B, L, ED)
      let r = (b * nl + t) * SCAN_N;    // (b, t, 0) in (B, L, N)
      let dt = inDt[i];
      let dtx = dt * inX[i];${extra}
      for (var n = 0; n < SCAN_N; n++) { ${h}[n] = exp(dt * av[n]) * ${h}[n] + dtx * inB[r + n]; }`;
}

/** WGSL: one step t that advances the running state h (N) and writes y_t = h . C_t + D x_t (needs dv = D[e]). */
const OUTPUT_STEP = `
      let i = (b * nl + t) * ned + e;   // (b, t, e) in (B, L, ED)
      let r = (b * nl + t) * SCAN_N;    // (b, t, 0) in (B, L, N)
      let dt = inDt[i];
      let xv = inX[i];
      let dtx = dt * xv;
      var acc = 0.0;
      for (var n = 0; n < SCAN_N; n++) {
        let hn = exp(dt * av[n]) * h[n] + dtx * inB[r + n];
        h[n] = hn;
        acc += hn * inC[r + n];
      }
      result[i] = acc + dv * xv;`;

// ---------------------------------------------------------------- chunked mode

/**
 * Chunk-local pass, per (b, c, e). Output (B, nC, ED, K): [S (N) | sum delta (1) | Gl (N)],
 * K = 2N + 1 with the gradient (inputs inX, inDt, inA, inB, inC, inDy), else N + 1
 * (inputs inX, inDt, inA, inB).
 */
export function chunkLocalProgram(d: ScanDims, withGrad: boolean): WebGPUProgramLike {
  const K = withGrad ? 2 * d.N + 1 : d.N + 1;
  const grad = `
    var cr : array<f32, SCAN_N>;   // (N) g-carry a_t g_t from a zero incoming carry
    for (var t = t1 - 1; t >= t0; t--) {
      let i = (b * nl + t) * ned + e;
      let r = (b * nl + t) * SCAN_N;
      let dt = inDt[i];
      let dyv = inDy[i];
      for (var n = 0; n < SCAN_N; n++) { cr[n] = exp(dt * av[n]) * (dyv * inC[r + n] + cr[n]); }
    }
    for (var n = 0; n < SCAN_N; n++) { result[o + SCAN_N + 1 + n] = cr[n]; }`;
  return flatProgram(
    d, `mambaScanLocal_N${d.N}_T${d.T}_g${withGrad ? 1 : 0}`, [d.B, d.nC, d.ED, K], d.B * d.nC * d.ED,
    withGrad ? ['inX', 'inDt', 'inA', 'inB', 'inC', 'inDy'] : ['inX', 'inDt', 'inA', 'inB'], `${CHUNK_PROLOGUE}
    var s : array<f32, SCAN_N>;   // (N) state from a zero start
    var sd = 0.0;                  // sum of delta over the chunk
    for (var t = t0; t < t1; t++) {${stateStep('s', '\n      sd += dt;')}
    }
    let o = index * ${K};   // (b, c, e, 0) in (B, nC, ED, K)
    for (var n = 0; n < SCAN_N; n++) { result[o + n] = s[n]; }
    result[o + SCAN_N] = sd;
    ${withGrad ? grad : ''}`,
  );
}

/**
 * Combine pass, per (b, e), over the chunk summaries inLoc (B, nC, ED, K) of
 * {@link chunkLocalProgram}. Output (B, nC, ED, KH): [H_c (N) | G_c (N)], KH = 2N with
 * the gradient, else N. H_c is the state entering chunk c, G_c the g-carry entering
 * chunk c from the right (a_{t1} g_{t1}, zero for the last chunk).
 */
export function chunkCombineProgram(d: ScanDims, withGrad: boolean): WebGPUProgramLike {
  const K = withGrad ? 2 * d.N + 1 : d.N + 1;
  const KH = withGrad ? 2 * d.N : d.N;
  const grad = `
    var gc : array<f32, SCAN_N>;   // (N) g-carry entering chunk c from the right
    for (var c = nc - 1; c >= 0; c--) {
      let li = ((b * nc + c) * ned + e) * ${K};
      let ho = ((b * nc + c) * ned + e) * ${KH};
      for (var n = 0; n < SCAN_N; n++) { result[ho + SCAN_N + n] = gc[n]; }
      let sd = inLoc[li + SCAN_N];
      for (var n = 0; n < SCAN_N; n++) { gc[n] = exp(av[n] * sd) * gc[n] + inLoc[li + SCAN_N + 1 + n]; }
    }`;
  return flatProgram(
    d, `mambaScanCombine_N${d.N}_g${withGrad ? 1 : 0}`, [d.B, d.nC, d.ED, KH], d.B * d.ED, ['inA', 'inLoc'],
    `${channelPrologue('inLoc', 'nc')}
    var h : array<f32, SCAN_N>;    // (N) state entering chunk c
    for (var c = 0; c < nc; c++) {
      let li = ((b * nc + c) * ned + e) * ${K};
      let ho = ((b * nc + c) * ned + e) * ${KH};
      for (var n = 0; n < SCAN_N; n++) { result[ho + n] = h[n]; }
      let sd = inLoc[li + SCAN_N];
      for (var n = 0; n < SCAN_N; n++) { h[n] = exp(av[n] * sd) * h[n] + inLoc[li + n]; }
    }
    ${withGrad ? grad : ''}`,
  );
}

/**
 * Chunked forward output pass, per (b, c, e): reruns the chunk from H_c and writes y.
 * Inputs inX, inDt, inA, inB, inC, inD, inHG (B, nC, ED, N).
 */
export function chunkOutputProgram(d: ScanDims): WebGPUProgramLike {
  return flatProgram(
    d, `mambaScanOut_N${d.N}_T${d.T}`, [d.B, d.L, d.ED], d.B * d.nC * d.ED,
    ['inX', 'inDt', 'inA', 'inB', 'inC', 'inD', 'inHG'], `${CHUNK_PROLOGUE}
    var h : array<f32, SCAN_N>;   // (N) running state
    for (var n = 0; n < SCAN_N; n++) { h[n] = inHG[index * SCAN_N + n]; }
    let dv = inD[e];
    for (var t = t0; t < t1; t++) {${OUTPUT_STEP}
    }`,
  );
}

// ------------------------------------------------------------- sequential mode

/**
 * Sequential forward, per (b, e): walks all L steps.
 * Inputs inX, inDt, inA, inB, inC, inD.
 */
export function sequentialForwardProgram(d: ScanDims): WebGPUProgramLike {
  return flatProgram(
    d, `mambaScanFwd_N${d.N}`, [d.B, d.L, d.ED], d.B * d.ED, ['inX', 'inDt', 'inA', 'inB', 'inC', 'inD'],
    `${channelPrologue('inX', 'nl')}
    var h : array<f32, SCAN_N>;   // (N) running state, zero-initialised
    let dv = inD[e];
    for (var t = 0; t < nl; t++) {${OUTPUT_STEP}
    }`,
  );
}

/**
 * Sequential checkpoint pass, per (b, e): writes the state entering every chunk,
 * H[b, c, e, :] = h_{cT-1} (zeros for c = 0), into (B, nC, ED, N).
 * Inputs inX, inDt, inA, inB.
 */
export function sequentialCheckpointProgram(d: ScanDims): WebGPUProgramLike {
  return flatProgram(
    d, `mambaScanCkpt_N${d.N}_T${d.T}`, [d.B, d.nC, d.ED, d.N], d.B * d.ED, ['inX', 'inDt', 'inA', 'inB'],
    `${channelPrologue('inX', 'nl')}
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    var h : array<f32, SCAN_N>;   // (N) running state
    for (var c = 0; c < nc; c++) {
      let o = ((b * nc + c) * ned + e) * SCAN_N;   // (b, c, e, 0) in (B, nC, ED, N)
      for (var n = 0; n < SCAN_N; n++) { result[o + n] = h[n]; }
      if (c + 1 == nc) { break; }
      for (var t = c * SCAN_T; t < (c + 1) * SCAN_T; t++) {${stateStep('h')}
      }
    }`,
  );
}
