/**
 * What the webgpu fused-scan programs share: limits and tuning, the program and size types,
 * code generation helpers (constants, flat dispatch, state-loop unrolling) and WGSL snippets.
 * See ./scan.ts for the algorithm and the shape glossary (B, L, ED, N, T, nC, W, nEB, P).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_SCAN_GRAD_KERNEL, FUSED_SCAN_KERNEL } from '../names';
import { WEBGPU_SCAN_CHUNK_FLAG, webgpuScanTuning } from '../../../flags';

/** The scan's kernel names, as the programs' error messages use them. */
export const FORWARD_KERNEL = FUSED_SCAN_KERNEL;
export const GRAD_KERNEL = FUSED_SCAN_GRAD_KERNEL;

/** Largest supported state size N (private arrays and workgroup memory are sized by it). */
export const WEBGPU_SCAN_MAX_N = 64;
/** Largest supported chunk length T (a private (T + 1, N) array per invocation). */
export const WEBGPU_SCAN_MAX_CHUNK = 64;
/** Invocations per workgroup of the programs without a workgroup reduction. */
const FLAT_WORKGROUP = 64;

/**
 * How the webgpu kernels run, read at every call from the flags MAMBA_TFJS_WEBGPU_SCAN_MODE ('chunked': chunks of
 * T steps in parallel; 'sequential': one invocation per channel walks all of L), MAMBA_TFJS_WEBGPU_SCAN_CHUNK (T,
 * steps per chunk or per checkpoint of the sequential backward, lowered to {@link effectiveChunk} when (T + 1) · N
 * would exceed {@link MAX_CHUNK_STATES}) and MAMBA_TFJS_WEBGPU_SCAN_UNROLL (the loops over the N states as
 * straight-line code). See ../../../flags.ts.
 */
export { webgpuScanTuning };

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

/** Channels per workgroup of the backward: keeps W * (2N + 1) floats of workgroup memory near 8 KiB. */
export function backwardWorkgroupWidth(N: number): number {
  return N <= 16 ? 64 : N <= 32 ? 32 : 16;
}

/** A program as tfjs-backend-webgpu's WebGPUProgram interface reads it. */
export interface WebGPUProgramLike {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms?: string;
  /** When true, tfjs-webgpu passes the output's element count as uniforms.size. */
  size?: boolean;
  workgroupSize: [number, number, number];
  getUserCode: () => string;
}

/** A program-defined uniform value, as runWebGPUProgram takes it. */
export interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

/** The part of tfjs-backend-webgpu's WebGPUBackend the kernels use (nothing is imported from that package). */
export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType,
    programDefinedUniform?: ProgramUniform[],
  ): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Sizes of one call, with the chunking in force. */
export interface ScanDims {
  B: number;
  L: number;
  ED: number;
  N: number;
  /** Chunk length T. */
  T: number;
  /** Chunk count nC. */
  nC: number;
}

/**
 * Reads and checks the sizes of x (B, L, ED) and A (ED, N) under the tuning in force
 * (the op validated the shapes; N and T are limited here).
 *
 * @param kernel names the kernel in the errors
 */
export function scanDims(kernel: string, x: tf.TensorInfo, A: tf.TensorInfo): ScanDims {
  const [B, L, ED] = x.shape; // (B, L, ED)
  const N = A.shape[1];
  if (!(N >= 1 && N <= WEBGPU_SCAN_MAX_N)) {
    throw new Error(`${kernel}: state size N must be in [1, ${WEBGPU_SCAN_MAX_N}], got ${N}`);
  }
  const chunk = webgpuScanTuning().chunk;
  if (!(Number.isInteger(chunk) && chunk >= 1 && chunk <= WEBGPU_SCAN_MAX_CHUNK)) {
    throw new Error(`${kernel}: ${WEBGPU_SCAN_CHUNK_FLAG} must be an integer in [1, ${WEBGPU_SCAN_MAX_CHUNK}], got ${chunk}`);
  }
  const T = effectiveChunk(chunk, N);
  const nC = Math.ceil(L / T);
  const largest = Math.max(B * L * ED, B * nC * ED * (2 * N + 1)); // (B, L, ED) and the chunk summaries
  if (largest >= 2 ** 31) {
    throw new Error(`${kernel}: tensors of ${largest} floats exceed i32 indexing (2^31 - 1); split the batch`);
  }
  return { B, L, ED, N, T, nC };
}

/** WGSL constants shared by the programs. */
export function constants(d: ScanDims): string {
  return `
  const SCAN_N : i32 = ${d.N};
  const SCAN_T : i32 = ${d.T};
  `;
}

/**
 * A program of `count` invocations in flat workgroups of {@link FLAT_WORKGROUP} whose shader is `header` (WGSL
 * constants) and `fn main(index : i32) { body }`; `main` gets the flat invocation index and must bound-check it.
 * Used by the scan programs here and by the conv and silu-gradient kernels (./conv.ts, ./siluGrad.ts).
 */
export function flatWgslProgram(
  shaderKey: string, outputShape: number[], count: number, variableNames: string[], header: string, body: string,
): WebGPUProgramLike {
  return {
    outputShape,
    shaderKey,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(count / FLAT_WORKGROUP), 1, 1],
    workgroupSize: [FLAT_WORKGROUP, 1, 1],
    variableNames,
    getUserCode: () => `
  ${header}
  fn main(index : i32) {${body}
  }
  `,
  };
}

/** A scan program: {@link flatWgslProgram} with the scan's {@link constants}. */
export function flatProgram(
  d: ScanDims, shaderKey: string, outputShape: number[], count: number, variableNames: string[], body: string,
): WebGPUProgramLike {
  return flatWgslProgram(shaderKey, outputShape, count, variableNames, constants(d), body);
}

/** Header of every loop over the N states in the WGSL (what {@link unrollStateLoops} expands). */
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
export function tuned(p: WebGPUProgramLike, N: number): WebGPUProgramLike {
  if (!webgpuScanTuning().unroll) return p;
  const code = p.getUserCode;
  return { ...p, shaderKey: `${p.shaderKey}_unrolled`, getUserCode: () => unrollStateLoops(code(), N) };
}

/** WGSL: nb, nl, ned (B, L, ED) from uniforms.inXShape. */
export const X_SIZES = `
    let nb = uniforms.inXShape.x;
    let nl = uniforms.inXShape.y;
    let ned = uniforms.inXShape.z;`;

/** WGSL: declares av = A[e, :] (N) loaded from inA (ED, N). */
export const LOAD_A = `
    var av : array<f32, SCAN_N>;   // (N) A[e, :]
    for (var n = 0; n < SCAN_N; n++) { av[n] = inA[e * SCAN_N + n]; }`;
