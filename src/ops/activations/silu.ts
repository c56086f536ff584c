/**
 * silu(x) = x · σ(x) and its gradient, the gating nonlinearity of the Mamba block.
 * The gradient runs as one WGSL dispatch on webgpu (MambaSiluGrad, ../kernels/webgpu/siluGrad.ts), else as tf ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SILU_GRAD_KERNEL } from '../kernels/names';

/** x · σ(x), any shape. */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** dy · d silu(x)/dx = dy · s · (1 + x (1 − s)), s = σ(x); x and dy of one shape. */
export function siluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (tf.getKernel(SILU_GRAD_KERNEL, tf.getBackend()) != null) {
    return tf.engine().runKernel(SILU_GRAD_KERNEL, { x, dy } as unknown as tf.NamedTensorMap) as tf.Tensor; // one dispatch on webgpu
  }
  return tf.tidy(() => {
    const s = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
  });
}
