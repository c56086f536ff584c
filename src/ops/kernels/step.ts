/**
 * The decoding-step kernels for the 'cpu' and 'wasm' backends: one selective-scan step and one conv step, each a
 * single pass over its arrays (./js/stepMath.ts) instead of ~10 small tf ops. No gradients: they serve inference.
 *
 * Shape letters: B batch, ED inner channels, N state size, K conv width.
 *   MambaSelectiveStep {h, x, delta, A, B, C, D} → [y (B, ED), h' (B, ED, N)]
 *   MambaConvStep      {state, x, w, bias}       → [out (B, ED), state' (B, K−1, ED)]
 */
import type * as tf from '@tensorflow/tfjs-core';
import { convStepLoop, selectiveStepLoop } from './js/stepMath';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { CONV_STEP_KERNEL, NEG_EXP_KERNEL, SELECTIVE_STEP_KERNEL } from './names';
import { negExpCpu, negExpWasm, selectiveStepWasm } from './stepWasm';


const STEP_INPUTS = ['h', 'x', 'delta', 'A', 'B', 'C', 'D'] as const;
const CONV_INPUTS = ['state', 'x', 'w', 'bias'] as const;

const selective = cpuWasmKernels(SELECTIVE_STEP_KERNEL, STEP_INPUTS, ([h]) => [[h.shape[0], h.shape[1]], h.shape], (ins, outs, infos) => {
  const [h, x, delta, A, Bm, Cm, D] = ins;
  const [b, ed, n] = infos[0].shape;
  selectiveStepLoop(h, x, delta, A, Bm, Cm, D, { B: b, ED: ed, N: n }, outs[0], outs[1]);
});

const conv = cpuWasmKernels(CONV_STEP_KERNEL, CONV_INPUTS, ([state]) => [[state.shape[0], state.shape[2]], state.shape], (ins, outs, infos) => {
  const [state, x, w, bias] = ins;
  const [b, , ed] = infos[0].shape;
  convStepLoop(state, x, w, bias, { B: b, K: infos[2].shape[0], ED: ed }, outs[0], outs[1]);
});

/** Registers the step kernels for 'cpu' and 'wasm' (each once). */
export function registerStepKernels(): void {
  registerOnce(SELECTIVE_STEP_KERNEL, 'wasm', selectiveStepWasm as tf.KernelFunc); // in place on the heap, SIMD (./stepWasm.ts)
  registerOnce(NEG_EXP_KERNEL, 'wasm', negExpWasm as tf.KernelFunc);
  registerOnce(NEG_EXP_KERNEL, 'cpu', negExpCpu as tf.KernelFunc);
  for (const [name, k] of [[SELECTIVE_STEP_KERNEL, selective], [CONV_STEP_KERNEL, conv]] as const) {
    for (const backendName of ['cpu', 'wasm'] as const) registerOnce(name, backendName, k[backendName]);
  }
}
