/**
 * Fused decoding-step kernels for the 'cpu' and 'wasm' backends: one selective-scan step and one conv step,
 * each a single pass over its arrays (fusedStepMath.ts) instead of ~10 small tf ops.
 *
 * Shape letters: B batch, ED inner channels, N state size, K conv width.
 *
 * Kernels registered on import (idempotent):
 *   MambaSelectiveStep {h, x, delta, A, B, C, D} → [y (B, ED), h' (B, ED, N)]
 *   MambaConvStep      {state, x, w, bias}       → [out (B, ED), state' (B, K−1, ED)]
 * No gradients: they serve inference. Other backends run the tf-op versions (selectiveStep.ts, convState.ts).
 *
 * Porting note: a decoding step is small (B·ED·N ≈ 25k elements at mamba-130m, B = 1), so tfjs's per-op cost
 * dominates it: measured on wasm, 24 layers of the tf-op selective step took ~120 ms per token.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convStepLoop, selectiveStepLoop } from './fusedStepMath';

export const SELECTIVE_STEP_KERNEL = 'MambaSelectiveStep';
export const CONV_STEP_KERNEL = 'MambaConvStep';

const STEP_INPUTS = ['h', 'x', 'delta', 'A', 'B', 'C', 'D'] as const;
const CONV_INPUTS = ['state', 'x', 'w', 'bias'] as const;

/** The part of tfjs-backend-cpu's backend the kernels use. */
interface CpuBackendLike {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** The part of tfjs-backend-wasm's backend the kernels use. */
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The named inputs, checked to be present and float32. */
function inputsOf(kernel: string, inputs: tf.NamedTensorInfoMap, names: readonly string[]): tf.TensorInfo[] {
  return names.map((n) => {
    const t = inputs[n];
    if (t == null) throw new Error(`${kernel}: expected input '${n}', got none`);
    if (t.dtype !== 'float32') throw new Error(`${kernel}: expected input '${n}' of dtype float32, got ${t.dtype}`);
    return t;
  });
}

/** A float32 view of a tensor on the wasm heap (make views only after every allocation). */
function wasmF32(be: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  const rec = be.dataIdMap.get(t.dataId);
  if (rec == null) throw new Error(`wasm kernel: expected the tensor's data on the wasm backend, got none (shape [${t.shape}])`);
  return new Float32Array(be.wasm.HEAPU8.buffer, rec.memoryOffset, tf.util.sizeFromShape(t.shape));
}

/** Runs `body` on views of inputs and outputs, for either backend. */
function kernel(
  name: string, names: readonly string[], outShapes: (ins: tf.TensorInfo[]) => number[][],
  body: (ins: Float32Array[], outs: Float32Array[], infos: tf.TensorInfo[]) => void,
): { cpu: tf.KernelFunc; wasm: tf.KernelFunc } {
  return {
    cpu: ({ inputs, backend }) => {
      const be = backend as unknown as CpuBackendLike;
      const infos = inputsOf(name, inputs, names);
      const shapes = outShapes(infos);
      const outs = shapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
      body(infos.map((t) => be.readSync(t.dataId) as Float32Array), outs, infos);
      return outs.map((v, i) => be.makeTensorInfo(shapes[i], 'float32', v));
    },
    wasm: ({ inputs, backend }) => {
      const be = backend as unknown as WasmBackendLike;
      const infos = inputsOf(name, inputs, names);
      const outs = outShapes(infos).map((s) => be.makeOutput(s, 'float32')); // may grow the heap: before the views
      body(infos.map((t) => wasmF32(be, t)), outs.map((t) => wasmF32(be, t)), infos);
      return outs;
    },
  };
}

const selective = kernel(SELECTIVE_STEP_KERNEL, STEP_INPUTS, ([h]) => [[h.shape[0], h.shape[1]], h.shape], (ins, outs, infos) => {
  const [h, x, delta, A, Bm, Cm, D] = ins;
  const [b, ed, n] = infos[0].shape;
  selectiveStepLoop(h, x, delta, A, Bm, Cm, D, { B: b, ED: ed, N: n }, outs[0], outs[1]);
});

const conv = kernel(CONV_STEP_KERNEL, CONV_INPUTS, ([state]) => [[state.shape[0], state.shape[2]], state.shape], (ins, outs, infos) => {
  const [state, x, w, bias] = ins;
  const [b, , ed] = infos[0].shape;
  convStepLoop(state, x, w, bias, { B: b, K: infos[2].shape[0], ED: ed }, outs[0], outs[1]);
});

/** Registers the step kernels for 'cpu' and 'wasm' (each once). */
export function registerStepKernels(): void {
  for (const [name, k] of [[SELECTIVE_STEP_KERNEL, selective], [CONV_STEP_KERNEL, conv]] as const) {
    for (const backendName of ['cpu', 'wasm'] as const) {
      if (tf.getKernel(name, backendName) == null) tf.registerKernel({ kernelName: name, backendName, kernelFunc: k[backendName] });
    }
  }
}

/** True when the active backend (or `backendName`) has the fused step kernels. */
export function hasStepKernels(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(SELECTIVE_STEP_KERNEL, backendName) != null && tf.getKernel(CONV_STEP_KERNEL, backendName) != null;
}

/** 'auto' (default): the fused kernel where the backend has one (cpu, wasm), else tf ops; or force either. */
export type StepImpl = 'auto' | 'fused' | 'ops';

/** Resolve 'auto' against the active backend. */
export function resolveStepImpl(impl: StepImpl = 'auto'): 'fused' | 'ops' {
  if (impl !== 'auto') return impl;
  return hasStepKernels() ? 'fused' : 'ops';
}

/** The fused selective step: inputs as selectiveStep's; returns [y (B, ED), h (B, ED, N)]. */
export function fusedSelectiveStep(
  h: tf.Tensor, x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor,
): [tf.Tensor2D, tf.Tensor3D] {
  return tf.engine().runKernel(SELECTIVE_STEP_KERNEL, { h, x, delta, A, B, C, D }) as unknown as [tf.Tensor2D, tf.Tensor3D];
}

/** The fused conv step: inputs as convStep's (bias required); returns [out (B, ED), state (B, K−1, ED)]. */
export function fusedConvStep(state: tf.Tensor, x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): [tf.Tensor2D, tf.Tensor3D] {
  return tf.engine().runKernel(CONV_STEP_KERNEL, { state, x, w, bias }) as unknown as [tf.Tensor2D, tf.Tensor3D];
}

registerStepKernels();
