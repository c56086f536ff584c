/**
 * softplus(x) = log(1 + exp(x)): the MambaSoftplus kernel where the active backend has it (cpu, wasm:
 * ../kernels/softplus.ts), else tf.softplus.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SOFTPLUS_KERNEL } from '../kernels/names';

/** softplus(x) (any shape): the kernel above where the active backend has it, else tf.softplus. */
export function softplus(x: tf.Tensor): tf.Tensor {
  if (tf.getKernel(SOFTPLUS_KERNEL, tf.getBackend()) == null) return tf.softplus(x);
  return tf.tidy(() => tf.engine().runKernel(SOFTPLUS_KERNEL, { x: tf.cast(x, 'float32') }) as tf.Tensor);
}
