/**
 * Fused selective scan kernels for the 'webgpu' backend, as WGSL compute shaders.
 *
 * Shape glossary:
 *   B   batch
 *   L   sequence length
 *   ED  inner channels
 *   N   state size (1 <= N <= 64)
 *   T   chunk length in steps ({@link webgpuScanTuning}.chunk, default 32, lowered by
 *       {@link effectiveChunk} so that (T + 1) * N <= 1088, e.g. T 16 at N 64)
 *   nC  number of chunks, ceil(L / T)
 *   W   workgroup width (channels per workgroup) of the backward pass
 *   nEB number of channel blocks, ceil(ED / W)
 *   P   number of dA/dD partials: B (sequential) or B * nC (chunked)
 *
 * Kernels registered on import (idempotent, see {@link registerFusedScanWebgpuKernels}):
 *   MambaSelectiveScan     {x, delta, A, B, C, D}     -> y (B, L, ED)
 *   MambaSelectiveScanGrad {x, delta, A, B, C, D, dy} -> [dx, ddelta, dA, dB, dC, dD]
 * Semantics are those of fusedScanMath.ts (h_t = exp(delta_t A) h_{t-1} + delta_t B_t x_t,
 * y_t = h_t . C_t + D x_t, g_t = dy_t C_t + a_{t+1} g_{t+1}); the gradient registration
 * lives in fusedSelectiveScan.ts. Every invocation keeps its N states in private memory.
 *
 * Mode 'chunked' (default): the scan is cut into nC chunks of T steps that run in
 * parallel, B * nC * ED invocations, so short serial chains even at B = 1.
 *   local    per (b, c, e): the chunk's end state from a zero start, S (N), and
 *            sum_t delta_t (the chunk's decay is prod_t a_t = exp(A * sum delta));
 *            with the gradient also the chunk's outgoing g-carry from a zero
 *            incoming carry, Gl (N). Output (B, nC, ED, N + 1 [+ N]).
 *   combine  per (b, e): walks the nC chunks left to right for the state entering
 *            each chunk, H_c (and right to left for the g-carry entering each chunk
 *            from the right, G_c). Output (B, nC, ED, N [+ N]).
 *   output   forward: per (b, c, e), reruns its chunk from H_c and writes y.
 *            backward: see below, one invocation per (b, c, e).
 * Mode 'sequential': one invocation per (b, e) walks all L steps; the backward first
 * checkpoints h every T steps into (B, nC, ED, N), then walks the chunks last to first.
 *
 * Backward output pass (both modes): for its chunk an invocation recomputes the T + 1
 * states from the chunk's start state into a private (T + 1, N) array, then walks the
 * chunk backwards, writing dx and ddelta per (b, t, e) and per-invocation partials of
 * dA and dD (summed afterwards). dB_t and dC_t need a sum over all ED channels at each
 * step: float atomics do not exist in WGSL and (B, L, ED, N) partials are what this
 * kernel must never store, so the W channels of a workgroup (same b and chunk, walking
 * t in lock step) reduce their 2N contributions in workgroup memory at every step and
 * write one partial per workgroup: (2, B, L, N, nEB) floats, summed over nEB afterwards.
 *
 * Memory of the backward (floats): 2 B L ED (dx, ddelta) + 2 B L N nEB (dB/dC partials)
 * + ED (N + 1) P + chunk summaries of B L ED (3N + 1) / T (chunked; B L ED N / T
 * sequential). Never (B, L, ED, N): at N = 16, T = 32 the summaries are about 1.5 B L ED.
 *
 * Measured on one H200 (Dawn/Vulkan through the `webgpu` npm package, tfjs 4.22,
 * benchmarks/webgpu-check.js, wall time including a scalar readback):
 *   B 1, L 1024, ED 1024, N 16: chunked T 32: forward 3.2 ms, backward kernel 7.2 ms,
 *     tf.grads forward+backward 18.5 ms (sequential 6.0 / 23.9 / 18.3 ms; tf-op pscan
 *     on webgpu 20.8 / - / 39.2 ms; fused cpu kernel 62 / - / 390 ms).
 *   B 8, L 4096, ED 512, N 16: chunked T 32: 44 / 31.5 / 141 ms (sequential 58 / 44 / 163 ms).
 *
 * All tensors of the backward are packed into one output buffer (a tfjs program has a
 * single output binding) and cut out with the backend's Slice/Reshape/Sum kernels.
 * A and D are concatenated into AD (ED, N + 1) first, because WebGPU's default limit of
 * 8 storage buffers per shader stage (tfjs does not raise it) counts the output too.
 *
 * Nothing is imported from @tensorflow/tfjs-backend-webgpu: programs are plain objects
 * with the fields its WebGPUProgram interface reads, and the backend object reaches the
 * kernels at run time. Registering kernels for the name 'webgpu' before (or without)
 * that package is loaded is fine: tfjs keys its kernel registry by backend name only.
 * `fn main(index : i32)` is what getMainHeaderString('index') emits; tfjs's `_start`
 * calls it with the flat invocation index because every dispatch layout here is flat.
 */
import * as tf from '@tensorflow/tfjs';

/** Kernel name of the fused forward scan (same string as in fusedSelectiveScan.ts). */
const FORWARD_KERNEL = 'MambaSelectiveScan';
/** Kernel name of the fused backward scan. */
const GRAD_KERNEL = 'MambaSelectiveScanGrad';
/** Backend name. */
const BACKEND = 'webgpu';

/** Largest supported state size N (private arrays and workgroup memory are sized by it). */
export const WEBGPU_SCAN_MAX_N = 64;
/** Largest supported chunk length T (a private (T + 1, N) array per invocation). */
export const WEBGPU_SCAN_MAX_CHUNK = 64;
/** Invocations per workgroup of the programs without a workgroup reduction. */
const FLAT_WORKGROUP = 64;

/** How the webgpu kernels run; read at every call (benchmarks may change it). */
export interface WebgpuScanTuning {
  /** 'chunked' (default): chunks of T steps in parallel; 'sequential': one invocation per channel walks all of L. */
  mode: 'chunked' | 'sequential';
  /**
   * T, steps per chunk (chunked) or per checkpoint (sequential backward), in [1, {@link WEBGPU_SCAN_MAX_CHUNK}].
   * Lowered to {@link effectiveChunk} when (T + 1) * N would exceed {@link MAX_CHUNK_STATES}.
   */
  chunk: number;
  /** Emit the loops over the N states as straight-line code (constant indices keep the states in registers). */
  unroll: boolean;
}

/** The tuning in force. */
export const webgpuScanTuning: WebgpuScanTuning = { mode: 'chunked', chunk: 32, unroll: false };

/**
 * Largest (T + 1) * N floats of the backward's private state array. On an H200 (NVIDIA
 * Vulkan) 1088 (T 16, N 64) and 1040 (T 64, N 16) compile; 4160 (T 64, N 64) fails
 * pipeline creation ("failed to validate local memory").
 */
export const MAX_CHUNK_STATES = 1088;

/** The chunk length used for state size N: the tuning's, lowered to keep (T + 1) * N <= {@link MAX_CHUNK_STATES}. */
export function effectiveChunk(chunk: number, N: number): number {
  return Math.max(1, Math.min(chunk, Math.floor(MAX_CHUNK_STATES / N) - 1));
}

/** A program as tfjs-backend-webgpu's WebGPUProgram interface reads it. */
interface WebGPUProgramLike {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms?: string;
  workgroupSize: [number, number, number];
  getUserCode: () => string;
}

/** A program-defined uniform value, as runWebGPUProgram takes it. */
interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The part of tfjs-backend-webgpu's WebGPUBackend the kernels use. */
interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType,
    programDefinedUniform?: ProgramUniform[],
  ): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Sizes of one call, with the chunking in force. */
interface ScanDims {
  B: number;
  L: number;
  ED: number;
  N: number;
  /** Chunk length T. */
  T: number;
  /** Chunk count nC. */
  nC: number;
}

/** Returns a named kernel input, failing clearly when absent or not float32. */
function input(kernel: string, inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`${kernel} (webgpu): missing input '${name}'`);
  if (t.dtype !== 'float32') throw new Error(`${kernel} (webgpu): input '${name}' must be float32, got ${t.dtype}`);
  return t;
}

/** Reads and checks the sizes (the op validated the shapes; N and T are limited here). */
function dimsOf(kernel: string, x: tf.TensorInfo, A: tf.TensorInfo): ScanDims {
  const [B, L, ED] = x.shape; // (B, L, ED)
  const N = A.shape[1];
  if (!(N >= 1 && N <= WEBGPU_SCAN_MAX_N)) {
    throw new Error(`${kernel} (webgpu): state size N must be in [1, ${WEBGPU_SCAN_MAX_N}], got ${N}`);
  }
  const chunk = webgpuScanTuning.chunk;
  if (!(Number.isInteger(chunk) && chunk >= 1 && chunk <= WEBGPU_SCAN_MAX_CHUNK)) {
    throw new Error(`${kernel} (webgpu): webgpuScanTuning.chunk must be an integer in [1, ${WEBGPU_SCAN_MAX_CHUNK}], got ${chunk}`);
  }
  const T = effectiveChunk(chunk, N);
  const nC = Math.ceil(L / T);
  const largest = Math.max(B * L * ED, B * nC * ED * (2 * N + 1)); // (B, L, ED) and the chunk summaries
  if (largest >= 2 ** 31) {
    throw new Error(`${kernel} (webgpu): tensors of ${largest} floats exceed i32 indexing (2^31 - 1); split the batch`);
  }
  return { B, L, ED, N, T, nC };
}

/** Channels per workgroup of the backward: keeps W * (2N + 1) floats of workgroup memory near 8 KiB. */
export function backwardWorkgroupWidth(N: number): number {
  return N <= 16 ? 64 : N <= 32 ? 32 : 16;
}

/** Flat-dispatch fields for `count` invocations in workgroups of {@link FLAT_WORKGROUP}. */
function flat(count: number): Pick<WebGPUProgramLike, 'dispatchLayout' | 'dispatch' | 'workgroupSize'> {
  return { dispatchLayout: { x: [0] }, dispatch: [Math.ceil(count / FLAT_WORKGROUP), 1, 1], workgroupSize: [FLAT_WORKGROUP, 1, 1] };
}

/** Header of every loop over the N states in the WGSL below (what {@link unrollStateLoops} expands). */
const STATE_LOOP = 'for (var n = 0; n < SCAN_N; n++) {';

/**
 * Rewrites every `for (var n = 0; n < SCAN_N; n++) { body }` of `code` as N braced
 * copies of body with n replaced by 0..N-1 (such loops never nest, and `n` is their
 * only use of that identifier).
 */
export function unrollStateLoops(code: string, N: number): string {
  let out = '';
  let at = 0;
  for (let k = code.indexOf(STATE_LOOP, at); k >= 0; k = code.indexOf(STATE_LOOP, at)) {
    let depth = 1;
    let j = k + STATE_LOOP.length;
    for (; j < code.length && depth > 0; j++) depth += code[j] === '{' ? 1 : code[j] === '}' ? -1 : 0;
    if (depth !== 0) throw new Error(`unrollStateLoops: unbalanced braces after offset ${k}`);
    const body = code.slice(k + STATE_LOOP.length, j - 1);
    out += code.slice(at, k);
    for (let n = 0; n < N; n++) out += `{${body.replace(/\bn\b/g, String(n))}}`;
    at = j;
  }
  return out + code.slice(at);
}

/** Applies the tuning's code generation options to a program (and keys its shader by them). */
function tuned(p: WebGPUProgramLike, N: number): WebGPUProgramLike {
  if (!webgpuScanTuning.unroll) return p;
  const code = p.getUserCode;
  return { ...p, shaderKey: `${p.shaderKey}_unrolled`, getUserCode: () => unrollStateLoops(code(), N) };
}

/** WGSL constants shared by the programs. */
function constants(d: ScanDims): string {
  return `
  const SCAN_N : i32 = ${d.N};
  const SCAN_T : i32 = ${d.T};
  `;
}

/**
 * WGSL: sizes from uniforms.inXShape and the (b, c, e) of a per-chunk invocation
 * (index = (b * nC + c) * ED + e, e fastest: coalesced), returning when out of range.
 */
const CHUNK_PROLOGUE = `
    let nb = uniforms.inXShape.x;
    let nl = uniforms.inXShape.y;
    let ned = uniforms.inXShape.z;
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    if (index >= nb * nc * ned) { return; }
    let e = index % ned;
    let c = (index / ned) % nc;
    let b = index / (ned * nc);
    let t0 = c * SCAN_T;
    let t1 = min(nl, t0 + SCAN_T);
    var av : array<f32, SCAN_N>;   // (N) A[e, :]
    for (var n = 0; n < SCAN_N; n++) { av[n] = inA[e * SCAN_N + n]; }
`;

// ---------------------------------------------------------------- chunked mode

/**
 * Chunk-local pass, per (b, c, e). Output (B, nC, ED, K): [S (N) | sum delta (1) | Gl (N)],
 * K = 2N + 1 with the gradient (inputs inX, inDt, inA, inB, inC, inDy), else N + 1
 * (inputs inX, inDt, inA, inB).
 */
function chunkLocalProgram(d: ScanDims, withGrad: boolean): WebGPUProgramLike {
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
  return {
    outputShape: [d.B, d.nC, d.ED, K],
    shaderKey: `mambaScanLocal_N${d.N}_T${d.T}_g${withGrad ? 1 : 0}`,
    ...flat(d.B * d.nC * d.ED),
    variableNames: withGrad ? ['inX', 'inDt', 'inA', 'inB', 'inC', 'inDy'] : ['inX', 'inDt', 'inA', 'inB'],
    getUserCode: () => `
  ${constants(d)}
  fn main(index : i32) {
    ${CHUNK_PROLOGUE}
    var s : array<f32, SCAN_N>;   // (N) state from a zero start
    var sd = 0.0;                  // sum of delta over the chunk
    for (var t = t0; t < t1; t++) {
      let i = (b * nl + t) * ned + e;   // (b, t, e) in (B, L, ED)
      let r = (b * nl + t) * SCAN_N;    // (b, t, 0) in (B, L, N)
      let dt = inDt[i];
      let dtx = dt * inX[i];
      sd += dt;
      for (var n = 0; n < SCAN_N; n++) { s[n] = exp(dt * av[n]) * s[n] + dtx * inB[r + n]; }
    }
    let o = index * ${K};   // (b, c, e, 0) in (B, nC, ED, K)
    for (var n = 0; n < SCAN_N; n++) { result[o + n] = s[n]; }
    result[o + SCAN_N] = sd;
    ${withGrad ? grad : ''}
  }
  `,
  };
}

/**
 * Combine pass, per (b, e), over the chunk summaries inLoc (B, nC, ED, K) of
 * {@link chunkLocalProgram}. Output (B, nC, ED, KH): [H_c (N) | G_c (N)], KH = 2N with
 * the gradient, else N. H_c is the state entering chunk c, G_c the g-carry entering
 * chunk c from the right (a_{t1} g_{t1}, zero for the last chunk).
 */
function chunkCombineProgram(d: ScanDims, withGrad: boolean): WebGPUProgramLike {
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
  return {
    outputShape: [d.B, d.nC, d.ED, KH],
    shaderKey: `mambaScanCombine_N${d.N}_g${withGrad ? 1 : 0}`,
    ...flat(d.B * d.ED),
    variableNames: ['inA', 'inLoc'],
    getUserCode: () => `
  ${constants(d)}
  fn main(index : i32) {
    let nb = uniforms.inLocShape.x;
    let nc = uniforms.inLocShape.y;
    let ned = uniforms.inLocShape.z;
    if (index >= nb * ned) { return; }
    let b = index / ned;
    let e = index - b * ned;
    var av : array<f32, SCAN_N>;   // (N) A[e, :]
    for (var n = 0; n < SCAN_N; n++) { av[n] = inA[e * SCAN_N + n]; }
    var h : array<f32, SCAN_N>;    // (N) state entering chunk c
    for (var c = 0; c < nc; c++) {
      let li = ((b * nc + c) * ned + e) * ${K};
      let ho = ((b * nc + c) * ned + e) * ${KH};
      for (var n = 0; n < SCAN_N; n++) { result[ho + n] = h[n]; }
      let sd = inLoc[li + SCAN_N];
      for (var n = 0; n < SCAN_N; n++) { h[n] = exp(av[n] * sd) * h[n] + inLoc[li + n]; }
    }
    ${withGrad ? grad : ''}
  }
  `,
  };
}

/**
 * Chunked forward output pass, per (b, c, e): reruns the chunk from H_c and writes y.
 * Inputs inX, inDt, inA, inB, inC, inD, inHG (B, nC, ED, N).
 */
function chunkOutputProgram(d: ScanDims): WebGPUProgramLike {
  return {
    outputShape: [d.B, d.L, d.ED],
    shaderKey: `mambaScanOut_N${d.N}_T${d.T}`,
    ...flat(d.B * d.nC * d.ED),
    variableNames: ['inX', 'inDt', 'inA', 'inB', 'inC', 'inD', 'inHG'],
    getUserCode: () => `
  ${constants(d)}
  fn main(index : i32) {
    ${CHUNK_PROLOGUE}
    var h : array<f32, SCAN_N>;   // (N) running state
    for (var n = 0; n < SCAN_N; n++) { h[n] = inHG[index * SCAN_N + n]; }
    let dv = inD[e];
    for (var t = t0; t < t1; t++) {
      let i = (b * nl + t) * ned + e;
      let r = (b * nl + t) * SCAN_N;
      let dt = inDt[i];
      let xv = inX[i];
      let dtx = dt * xv;
      var acc = 0.0;
      for (var n = 0; n < SCAN_N; n++) {
        let hn = exp(dt * av[n]) * h[n] + dtx * inB[r + n];
        h[n] = hn;
        acc += hn * inC[r + n];
      }
      result[i] = acc + dv * xv;
    }
  }
  `,
  };
}

// ------------------------------------------------------------- sequential mode

/**
 * Sequential forward, per (b, e): walks all L steps.
 * Inputs inX, inDt, inA, inB, inC, inD.
 */
function sequentialForwardProgram(d: ScanDims): WebGPUProgramLike {
  return {
    outputShape: [d.B, d.L, d.ED],
    shaderKey: `mambaScanFwd_N${d.N}`,
    ...flat(d.B * d.ED),
    variableNames: ['inX', 'inDt', 'inA', 'inB', 'inC', 'inD'],
    getUserCode: () => `
  ${constants(d)}
  fn main(index : i32) {
    let nb = uniforms.inXShape.x;
    let nl = uniforms.inXShape.y;
    let ned = uniforms.inXShape.z;
    if (index >= nb * ned) { return; }
    let b = index / ned;
    let e = index - b * ned;
    var h : array<f32, SCAN_N>;   // (N) running state, zero-initialised
    var av : array<f32, SCAN_N>;  // (N) A[e, :]
    for (var n = 0; n < SCAN_N; n++) { av[n] = inA[e * SCAN_N + n]; }
    let dv = inD[e];
    for (var t = 0; t < nl; t++) {
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
      result[i] = acc + dv * xv;
    }
  }
  `,
  };
}

/**
 * Sequential checkpoint pass, per (b, e): writes the state entering every chunk,
 * H[b, c, e, :] = h_{cT-1} (zeros for c = 0), into (B, nC, ED, N).
 * Inputs inX, inDt, inA, inB.
 */
function sequentialCheckpointProgram(d: ScanDims): WebGPUProgramLike {
  return {
    outputShape: [d.B, d.nC, d.ED, d.N],
    shaderKey: `mambaScanCkpt_N${d.N}_T${d.T}`,
    ...flat(d.B * d.ED),
    variableNames: ['inX', 'inDt', 'inA', 'inB'],
    getUserCode: () => `
  ${constants(d)}
  fn main(index : i32) {
    let nb = uniforms.inXShape.x;
    let nl = uniforms.inXShape.y;
    let ned = uniforms.inXShape.z;
    if (index >= nb * ned) { return; }
    let b = index / ned;
    let e = index - b * ned;
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    var h : array<f32, SCAN_N>;   // (N) running state
    var av : array<f32, SCAN_N>;  // (N) A[e, :]
    for (var n = 0; n < SCAN_N; n++) { av[n] = inA[e * SCAN_N + n]; }
    for (var c = 0; c < nc; c++) {
      let o = ((b * nc + c) * ned + e) * SCAN_N;   // (b, c, e, 0) in (B, nC, ED, N)
      for (var n = 0; n < SCAN_N; n++) { result[o + n] = h[n]; }
      if (c + 1 == nc) { break; }
      for (var t = c * SCAN_T; t < (c + 1) * SCAN_T; t++) {
        let i = (b * nl + t) * ned + e;
        let r = (b * nl + t) * SCAN_N;
        let dt = inDt[i];
        let dtx = dt * inX[i];
        for (var n = 0; n < SCAN_N; n++) { h[n] = exp(dt * av[n]) * h[n] + dtx * inB[r + n]; }
      }
    }
  }
  `,
  };
}

// ------------------------------------------------------------------- backward

/** Offsets of the regions packed into the backward program's flat output. */
interface BackwardLayout {
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
function backwardLayout(d: ScanDims, P: number): BackwardLayout {
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

/** Program-defined uniforms of the backward programs (order matches BACKWARD_UNIFORMS). */
function backwardUniforms(lay: BackwardLayout): ProgramUniform[] {
  return [lay.nEB, lay.S, lay.offBC, lay.offAD, lay.P].map((v) => ({ type: 'int32' as const, data: [v] }));
}
/** WGSL declaration of {@link backwardUniforms}. */
const BACKWARD_UNIFORMS = 'nEB : i32, offS : i32, offBC : i32, offAD : i32, nP : i32,';

/** WGSL module-scope declarations of the backward programs. */
function backwardDecls(d: ScanDims, lay: BackwardLayout): string {
  const R = 2 * d.N + 1; // padded row of the reduction buffer: conflict-free writes and reads
  return `
  ${constants(d)}
  const SCAN_W : i32 = ${lay.W};
  const SCAN_R : i32 = ${R};
  var<workgroup> scanRed : array<f32, ${lay.W * R}>;   // (W, 2N + 1) per-step dB | dC contributions
  var<workgroup> scanGroup : i32;                      // this workgroup's index, made uniform
  `;
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
function chunkBackwardProgram(d: ScanDims, lay: BackwardLayout): WebGPUProgramLike {
  return {
    outputShape: [lay.total],
    shaderKey: `mambaScanBwdChunk_N${d.N}_T${d.T}_W${lay.W}`,
    dispatchLayout: { x: [0] },
    dispatch: [d.B * d.nC * lay.nEB, 1, 1],
    variableNames: ['inX', 'inDt', 'inAD', 'inB', 'inC', 'inDy', 'inHG'],
    uniforms: BACKWARD_UNIFORMS,
    workgroupSize: [lay.W, 1, 1],
    getUserCode: () => `
  ${backwardDecls(d, lay)}
  fn main(index : i32) {
    let nb = uniforms.inXShape.x;
    let nl = uniforms.inXShape.y;
    let ned = uniforms.inXShape.z;
    let neb = uniforms.nEB;
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    let lane = index % SCAN_W;
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
    ${writeADPartial('b * nc + c')}
  }
  `,
  };
}

/**
 * Sequential backward: one workgroup per (b, channel block), one invocation per (b, e),
 * chunks walked last to first. Inputs inX, inDt, inAD (ED, N+1), inB, inC, inDy,
 * inH (B, nC, ED, N). Output: the flat {@link BackwardLayout} with P = B.
 */
function sequentialBackwardProgram(d: ScanDims, lay: BackwardLayout): WebGPUProgramLike {
  return {
    outputShape: [lay.total],
    shaderKey: `mambaScanBwdSeq_N${d.N}_T${d.T}_W${lay.W}`,
    dispatchLayout: { x: [0] },
    dispatch: [d.B * lay.nEB, 1, 1],
    variableNames: ['inX', 'inDt', 'inAD', 'inB', 'inC', 'inDy', 'inH'],
    uniforms: BACKWARD_UNIFORMS,
    workgroupSize: [lay.W, 1, 1],
    getUserCode: () => `
  ${backwardDecls(d, lay)}
  fn main(index : i32) {
    let nb = uniforms.inXShape.x;
    let nl = uniforms.inXShape.y;
    let ned = uniforms.inXShape.z;
    let neb = uniforms.nEB;
    let nc = (nl + SCAN_T - 1) / SCAN_T;
    let lane = index % SCAN_W;
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
    ${writeADPartial('b')}
  }
  `,
  };
}

// -------------------------------------------------------------------- kernels

/** Runs registered webgpu kernels on TensorInfos and disposes the intermediates it made. */
class KernelScope {
  private readonly made: tf.TensorInfo[] = [];

  constructor(private readonly backend: WebGPUBackendLike, private readonly N: number) {}

  /** Runs kernel `name` of the webgpu backend; the result is disposed by {@link dispose} unless kept. */
  run(name: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const k = tf.getKernel(name, BACKEND);
    if (k == null) throw new Error(`fused scan (webgpu): the webgpu backend has no '${name}' kernel`);
    const args = { inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend as unknown as tf.KernelBackend, attrs };
    return this.track(k.kernelFunc(args) as tf.TensorInfo);
  }

  /** Runs a program of ours. */
  program(program: WebGPUProgramLike, inputs: tf.TensorInfo[], uniforms?: ProgramUniform[]): tf.TensorInfo {
    return this.track(this.backend.runWebGPUProgram(tuned(program, this.N), inputs, 'float32', uniforms));
  }

  /** Tracks a TensorInfo for disposal. */
  track(t: tf.TensorInfo): tf.TensorInfo {
    this.made.push(t);
    return t;
  }

  /** Reshape. */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Contiguous flat range [begin, begin + size) of a rank-1 tensor, reshaped to `shape`. */
  range(flatT: tf.TensorInfo, begin: number, size: number, shape: number[]): tf.TensorInfo {
    return this.reshape(this.run('Slice', { x: flatT }, { begin: [begin], size: [size] }), shape);
  }

  /** Sum of a rank-2 tensor over its last axis. */
  sumRows(x: tf.TensorInfo): tf.TensorInfo {
    return this.run('Sum', { x }, { axis: [1], keepDims: false });
  }

  /** Disposes every intermediate except `keep`. */
  dispose(keep: tf.TensorInfo[]): void {
    for (const t of this.made) if (!keep.includes(t)) this.backend.disposeData(t.dataId);
  }
}

/** Zero-filled float32 TensorInfo (for degenerate sizes). */
function zeros(be: WebGPUBackendLike, shape: number[]): tf.TensorInfo {
  return be.makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape)));
}

/** Runs `body` in a {@link KernelScope}, keeping only what it returns. */
function scoped<R extends tf.TensorInfo | tf.TensorInfo[]>(be: WebGPUBackendLike, N: number, body: (ks: KernelScope) => R): R {
  const ks = new KernelScope(be, N);
  try {
    const out = body(ks);
    ks.dispose(Array.isArray(out) ? out : [out]);
    return out;
  } catch (err) {
    ks.dispose([]);
    throw err;
  }
}

/** webgpu forward kernel. */
const webgpuForward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as unknown as WebGPUBackendLike;
  const [x, delta, A, Bm, Cm, D] = ['x', 'delta', 'A', 'B', 'C', 'D'].map((n) => input(FORWARD_KERNEL, inputs, n));
  const d = dimsOf(FORWARD_KERNEL, x, A);
  if (d.B * d.L * d.ED === 0) return zeros(be, [d.B, d.L, d.ED]);
  if (webgpuScanTuning.mode === 'sequential') {
    return be.runWebGPUProgram(tuned(sequentialForwardProgram(d), d.N), [x, delta, A, Bm, Cm, D], 'float32');
  }
  return scoped(be, d.N, (ks) => {
    const loc = ks.program(chunkLocalProgram(d, false), [x, delta, A, Bm]); // (B, nC, ED, N + 1)
    const H = ks.program(chunkCombineProgram(d, false), [A, loc]); // (B, nC, ED, N)
    return ks.program(chunkOutputProgram(d), [x, delta, A, Bm, Cm, D, H]); // (B, L, ED)
  });
};

/** Cuts the six gradients out of the backward's packed output. */
function unpackGrads(ks: KernelScope, out: tf.TensorInfo, d: ScanDims, lay: BackwardLayout): tf.TensorInfo[] {
  const { B, L, ED, N } = d;
  const dx = ks.range(out, 0, lay.S, [B, L, ED]); // (B, L, ED)
  const ddelta = ks.range(out, lay.S, lay.S, [B, L, ED]); // (B, L, ED)
  const bcPart = ks.range(out, lay.offBC, 2 * B * L * N * lay.nEB, [2 * B * L * N, lay.nEB]); // (2*B*L*N, nEB)
  const bc = ks.sumRows(bcPart); // (2*B*L*N)
  const dB = ks.range(bc, 0, B * L * N, [B, L, N]); // (B, L, N)
  const dC = ks.range(bc, B * L * N, B * L * N, [B, L, N]); // (B, L, N)
  const adPart = ks.range(out, lay.offAD, ED * (N + 1) * lay.P, [ED * (N + 1), lay.P]); // (ED*(N+1), P)
  const ad = ks.reshape(ks.sumRows(adPart), [ED, N + 1]); // (ED, N + 1)
  const dA = ks.run('Slice', { x: ad }, { begin: [0, 0], size: [ED, N] }); // (ED, N)
  const dD = ks.reshape(ks.run('Slice', { x: ad }, { begin: [0, N], size: [ED, 1] }), [ED]); // (ED)
  return [dx, ddelta, dA, dB, dC, dD];
}

/** webgpu backward kernel: chunk summaries, backward pass, then slices and partial sums. */
const webgpuBackward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as unknown as WebGPUBackendLike;
  const [x, delta, A, Bm, Cm, D, dy] = ['x', 'delta', 'A', 'B', 'C', 'D', 'dy'].map((n) => input(GRAD_KERNEL, inputs, n));
  const d = dimsOf(GRAD_KERNEL, x, A);
  const { B, L, ED, N } = d;
  if (B * L * ED === 0) {
    return [[B, L, ED], [B, L, ED], [ED, N], [B, L, N], [B, L, N], [ED]].map((s) => zeros(be, s));
  }
  const sequential = webgpuScanTuning.mode === 'sequential';
  const lay = backwardLayout(d, sequential ? B : B * d.nC);
  return scoped(be, N, (ks) => {
    // Concat takes its inputs as an array (tfjs-core's concat op passes one).
    const AD = ks.run('Concat', [A, ks.reshape(D, [ED, 1])], { axis: 1 }); // (ED, N + 1)
    let out: tf.TensorInfo;
    if (sequential) {
      const H = ks.program(sequentialCheckpointProgram(d), [x, delta, A, Bm]); // (B, nC, ED, N)
      out = ks.program(sequentialBackwardProgram(d, lay), [x, delta, AD, Bm, Cm, dy, H], backwardUniforms(lay));
    } else {
      const loc = ks.program(chunkLocalProgram(d, true), [x, delta, A, Bm, Cm, dy]); // (B, nC, ED, 2N + 1)
      const HG = ks.program(chunkCombineProgram(d, true), [A, loc]); // (B, nC, ED, 2N)
      out = ks.program(chunkBackwardProgram(d, lay), [x, delta, AD, Bm, Cm, dy, HG], backwardUniforms(lay));
    }
    return unpackGrads(ks, out, d, lay); // (total) -> six gradients
  });
};

/**
 * Registers the webgpu fused-scan kernels. Safe to call any number of times (and
 * without @tensorflow/tfjs-backend-webgpu installed); runs on import. The gradient
 * of MambaSelectiveScan is registered by fusedSelectiveScan.ts.
 */
export function registerFusedScanWebgpuKernels(): void {
  if (tf.getKernel(FORWARD_KERNEL, BACKEND) == null) {
    tf.registerKernel({ kernelName: FORWARD_KERNEL, backendName: BACKEND, kernelFunc: webgpuForward });
  }
  if (tf.getKernel(GRAD_KERNEL, BACKEND) == null) {
    tf.registerKernel({ kernelName: GRAD_KERNEL, backendName: BACKEND, kernelFunc: webgpuBackward });
  }
}

registerFusedScanWebgpuKernels();
