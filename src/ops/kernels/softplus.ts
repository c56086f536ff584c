/**
 * The MambaSoftplus kernel {x} -> y (same shape) for the 'cpu' and 'wasm' backends, and its gradient dy · σ(x).
 *
 * Why: tfjs-backend-wasm's Softplus is scalar (about 20 ns an element here: 2.6 ms on a (4, 256, 128) Δ, 5 % of a
 * train step of Mamba(64, 2)); the SIMD module's softplusArray (asm/softplus.ts) takes about a tenth of that. On wasm
 * the in-heap module's softplusHeapArray (same arithmetic) runs in place in tfjs's heap (./inHeap.ts), no copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { inHeapElementwise } from './inHeap';
import { softplusInto } from './simd/softplus';
import { SOFTPLUS_KERNEL } from './names';

const kernels = cpuWasmKernels(SOFTPLUS_KERNEL, ['x'], ([x]) => [x.shape], ([x], [y]) => softplusInto(x, y));
/** wasm: in place in the heap, else the copying kernel. */
const wasmKernel = inHeapElementwise(SOFTPLUS_KERNEL, ['x'], 1, 'softplusHeapArray', kernels.wasm);

/** Registers the softplus kernels ('cpu', 'wasm') and their gradient. Idempotent. */
export function registerSoftplusKernels(): void {
  registerOnce(SOFTPLUS_KERNEL, 'cpu', kernels.cpu);
  registerOnce(SOFTPLUS_KERNEL, 'wasm', wasmKernel);
  if (tf.getGradient(SOFTPLUS_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SOFTPLUS_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(x)) }),
    });
  }
}
