/**
 * The MambaSoftplus kernel {x} -> y (same shape) for the 'cpu' and 'wasm' backends, and its gradient dy · σ(x).
 *
 * Why: tfjs-backend-wasm's Softplus is scalar (about 20 ns an element here: 2.6 ms on a (4, 256, 128) Δ, 5 % of a
 * train step of Mamba(64, 2)); the SIMD module's softplusArray (asm/softplus.ts) takes about a tenth of that.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { softplusInto } from './simd/softplus';
import { SOFTPLUS_KERNEL } from './names';

const kernels = cpuWasmKernels(SOFTPLUS_KERNEL, ['x'], ([x]) => [x.shape], ([x], [y]) => softplusInto(x, y));

/** Registers the softplus kernels ('cpu', 'wasm') and their gradient. Idempotent. */
export function registerSoftplusKernels(): void {
  registerOnce(SOFTPLUS_KERNEL, 'cpu', kernels.cpu);
  registerOnce(SOFTPLUS_KERNEL, 'wasm', kernels.wasm);
  if (tf.getGradient(SOFTPLUS_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SOFTPLUS_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(x)) }),
    });
  }
}
