/**
 * −exp(x) for the decoding step's A = −exp(A_log): one MambaNegExp kernel where the backend has it (cpu, wasm: the
 * in-heap SIMD loop of asm/step.ts, about a tenth of tfjs-wasm's scalar Exp), else tf.neg(tf.exp(x)). No gradient:
 * decoding only (the parallel forward keeps tf ops, which training differentiates).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NEG_EXP_KERNEL } from '../kernels/names';

/** −exp(x), elementwise, same shape. */
export function negExp(x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && tf.getKernel(NEG_EXP_KERNEL, tf.getBackend()) != null) {
    return tf.engine().runKernel(NEG_EXP_KERNEL, { x } as never) as tf.Tensor;
  }
  return tf.tidy(() => tf.neg(tf.exp(x)));
}
