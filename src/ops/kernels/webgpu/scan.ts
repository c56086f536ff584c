/**
 * Fused selective scan kernels for the 'webgpu' backend, as WGSL compute shaders.
 *
 * Shape glossary:
 *   B   batch
 *   L   sequence length
 *   ED  inner channels
 *   N   state size (1 <= N <= 64)
 *   T   chunk length in steps (flag MAMBA_TFJS_WEBGPU_SCAN_CHUNK, default 32, lowered by
 *       {@link effectiveChunk} so that (T + 1) * N <= 1088, e.g. T 16 at N 64)
 *   nC  number of chunks, ceil(L / T)
 *   W   workgroup width (channels per workgroup) of the backward pass
 *   nEB number of channel blocks, ceil(ED / W)
 *   P   number of dA/dD partials: B (sequential) or B * nC (chunked)
 *
 * Kernels (registered by registerKernels(), see {@link registerScanWebgpuKernels}):
 *   MambaSelectiveScan     {x, delta, A, B, C, D}     -> y (B, L, ED)
 *   MambaSelectiveScanGrad {x, delta, A, B, C, D, dy} -> [dx, ddelta, dA, dB, dC, dD]
 * Semantics are those of ../js/scanMath.ts (h_t = exp(delta_t A) h_{t-1} + delta_t B_t x_t,
 * y_t = h_t . C_t + D x_t, g_t = dy_t C_t + a_{t+1} g_{t+1}); the gradient registration
 * lives in ../scan.ts. Every invocation keeps its N states in private memory.
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
 *
 * Code: this file runs the passes and registers the kernels; the programs (WGSL) are in
 * ./webgpu/forwardPrograms.ts (local, combine, output, sequential forward and checkpoint)
 * and ./webgpu/backwardPrograms.ts, the limits, tuning and shared snippets in ./webgpu/common.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import {
  FORWARD_KERNEL, GRAD_KERNEL, ProgramUniform, ScanDims, WebGPUProgramLike, scanDims, tuned, webgpuScanTuning,
} from './common';
import type { WebGPUBackendLike } from './common';
import { installBindGroupCache } from './bindGroupCache';
import {
  chunkCombineProgram, chunkLocalProgram, chunkOutputProgram, sequentialCheckpointProgram, sequentialForwardProgram,
} from './forwardPrograms';
import {
  BackwardLayout, backwardLayout, backwardUniforms, chunkBackwardProgram, partialSumProgram, partialSumUniforms, sequentialBackwardProgram,
} from './backwardPrograms';

export {
  MAX_CHUNK_STATES, WEBGPU_SCAN_MAX_CHUNK, WEBGPU_SCAN_MAX_N, backwardWorkgroupWidth, effectiveChunk, unrollStateLoops,
} from './common';

/** Backend name. */
const BACKEND = 'webgpu';
/** The kernels' names in errors. */
const FORWARD_NAME = `${FORWARD_KERNEL} (webgpu)`;
const GRAD_NAME = `${GRAD_KERNEL} (webgpu)`;

// -------------------------------------------------------------------- kernels

/** Runs registered webgpu kernels on TensorInfos and disposes the intermediates it made (also used by ./ssd.ts). */
export class KernelScope {
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
export function zeros(be: WebGPUBackendLike, shape: number[]): tf.TensorInfo {
  return be.makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape)));
}

/** Runs `body` in a {@link KernelScope}, keeping only what it returns. */
export function scoped<R extends tf.TensorInfo | tf.TensorInfo[]>(be: WebGPUBackendLike, N: number, body: (ks: KernelScope) => R): R {
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
  installBindGroupCache(backend);
  const be = backend as unknown as WebGPUBackendLike;
  const [x, delta, A, Bm, Cm, D] = float32Inputs(FORWARD_NAME, inputs, ['x', 'delta', 'A', 'B', 'C', 'D']);
  const d = scanDims(FORWARD_NAME, x, A);
  if (d.B * d.L * d.ED === 0) return zeros(be, [d.B, d.L, d.ED]);
  if (webgpuScanTuning().mode === 'sequential') {
    return be.runWebGPUProgram(tuned(sequentialForwardProgram(d), d.N), [x, delta, A, Bm, Cm, D], 'float32');
  }
  return scoped(be, d.N, (ks) => {
    const loc = ks.program(chunkLocalProgram(d, false), [x, delta, A, Bm]); // (B, nC, ED, N + 1)
    const H = ks.program(chunkCombineProgram(d, false), [A, loc]); // (B, nC, ED, N)
    return ks.program(chunkOutputProgram(d), [x, delta, A, Bm, Cm, D, H]); // (B, L, ED)
  });
};

/** Cuts the six gradients out of the backward's packed output (dB, dC, dA, dD: sums of its partials). */
function unpackGrads(ks: KernelScope, out: tf.TensorInfo, d: ScanDims, lay: BackwardLayout): tf.TensorInfo[] {
  const { B, L, ED, N } = d;
  const bln = B * L * N;
  const sum = (shape: number[], off: number, p: number, a: number, b: number, c: number) =>
    ks.program(partialSumProgram(shape), [out], partialSumUniforms(off, p, a, b, c));
  const dx = ks.range(out, 0, lay.S, [B, L, ED]); // (B, L, ED)
  const ddelta = ks.range(out, lay.S, lay.S, [B, L, ED]); // (B, L, ED)
  const dB = sum([B, L, N], lay.offBC, lay.nEB, bln, 0, 0); // (B, L, N)
  const dC = sum([B, L, N], lay.offBC, lay.nEB, bln, 0, bln); // (B, L, N)
  const dA = sum([ED, N], lay.offAD, lay.P, N, N + 1, 0); // (ED, N)
  const dD = sum([ED], lay.offAD, lay.P, 1, N + 1, N); // (ED)
  return [dx, ddelta, dA, dB, dC, dD];
}

/** webgpu backward kernel: chunk summaries, backward pass, then slices and partial sums. */
const webgpuBackward: tf.KernelFunc = ({ inputs, backend }) => {
  installBindGroupCache(backend);
  const be = backend as unknown as WebGPUBackendLike;
  const [x, delta, A, Bm, Cm, D, dy] = float32Inputs(GRAD_NAME, inputs, ['x', 'delta', 'A', 'B', 'C', 'D', 'dy']);
  const d = scanDims(GRAD_NAME, x, A);
  const { B, L, ED, N } = d;
  if (B * L * ED === 0) {
    return [[B, L, ED], [B, L, ED], [ED, N], [B, L, N], [B, L, N], [ED]].map((s) => zeros(be, s));
  }
  const sequential = webgpuScanTuning().mode === 'sequential';
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
 * without @tensorflow/tfjs-backend-webgpu installed). The gradient
 * of MambaSelectiveScan is registered by ../scan.ts (one gradient for every backend).
 */
export function registerScanWebgpuKernels(): void {
  registerOnce(FORWARD_KERNEL, BACKEND, webgpuForward);
  registerOnce(GRAD_KERNEL, BACKEND, webgpuBackward);
}

