/**
 * The depthwise causal conv1d op (with its bias) and its gradient: the fused MambaCausalConv1d kernels where the
 * active backend has them (cpu, wasm: ../kernels/conv.ts; webgpu: ../kernels/webgpu/conv.ts), else the composite
 * of ./compositeConv.ts.
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   K  conv width (tap K−1 is the current step)
 *
 * Porting note: mamba.py calls nn.Conv1d(groups=ED, padding=K−1) and keeps the first L outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { causalDepthwiseConv, causalDepthwiseConvGrad } from './compositeConv';
import { CONV_GRAD_KERNEL, CONV_KERNEL } from '../kernels/names';

/** True when the active backend (or `backendName`) has the fused conv kernels. */
export function hasConvKernel(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(CONV_KERNEL, backendName) != null && tf.getKernel(CONV_GRAD_KERNEL, backendName) != null;
}

/**
 * Depthwise causal conv: the fused kernel where the active backend has one, else causalDepthwiseConv.
 * @param x      (B, L, ED)
 * @param weight (K, ED)
 * @param bias   (ED) or null
 * @returns      (B, L, ED)
 */
export function causalConv(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  const [, , ed] = x.shape;
  if (x.rank !== 3 || weight.rank !== 2 || weight.shape[1] !== ed || (bias && (bias.rank !== 1 || bias.shape[0] !== ed))) {
    throw new Error(`causalConv: expected x (B, L, ED), weight (K, ED) and bias (ED), got [${x.shape}], [${weight.shape}], [${bias?.shape ?? 'none'}]`);
  }
  if (!hasConvKernel()) return causalDepthwiseConv(x, weight, bias);
  return tf.tidy(() => {
    const b = bias ?? tf.zeros([ed]); // (ED)
    const inputs = { x: tf.cast(x, 'float32'), weight: tf.cast(weight, 'float32'), bias: tf.cast(b, 'float32') };
    return tf.engine().runKernel(CONV_KERNEL, inputs as unknown as tf.NamedTensorMap) as tf.Tensor; // (B, L, ED)
  });
}

/**
 * Gradients of sum(causalConv(x, weight, bias) · dy), without a tape (for hand-written backward passes): the
 * gradient kernel where the active backend has one, else causalDepthwiseConvGrad.
 * @returns [dx (B, L, ED), dweight (K, ED), dbias (ED)]
 */
export function causalConvGrad(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, dy: tf.Tensor): tf.Tensor[] {
  if (!hasConvKernel()) return causalDepthwiseConvGrad(x, weight, dy);
  return tf.tidy(() => {
    const b = bias ?? tf.zeros([weight.shape[1] as number]); // (ED)
    return tf.engine().runKernel(CONV_GRAD_KERNEL, { x, weight, bias: b, dy } as unknown as tf.NamedTensorMap) as tf.Tensor[];
  });
}

