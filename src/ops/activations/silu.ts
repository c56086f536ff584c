/**
 * silu(x) = x · σ(x) and its gradient, the gating nonlinearity of the Mamba block.
 * On webgpu each runs as one WGSL dispatch (../kernels/webgpu/siluGrad.ts, gating.ts), else as tf ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from '../kernels/names';
import { activeBackendHas as hasKernel } from '../kernels/kernelIO';

// Where the active backend has the kernel (webgpu): one dispatch instead of the composite's two or three.
const run = (kernel: string, inputs: Record<string, tf.Tensor>) => tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap) as tf.Tensor;

/** x · σ(x), any shape. */
export function silu(x: tf.Tensor): tf.Tensor {
  if (hasKernel(SILU_KERNEL)) return run(SILU_KERNEL, { x });
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** g · silu(x), x and g of one shape: the block's output gate y · silu(z). */
export function siluMul(x: tf.Tensor, g: tf.Tensor): tf.Tensor {
  if (hasKernel(SILU_MUL_KERNEL)) return run(SILU_MUL_KERNEL, { x, g });
  return tf.tidy(() => tf.mul(g, tf.mul(x, tf.sigmoid(x))));
}

/** g · σ(x), x and g of one shape: softplus's gradient dy · σ(x). */
export function sigmoidMul(x: tf.Tensor, g: tf.Tensor): tf.Tensor {
  if (hasKernel(SIGMOID_MUL_KERNEL)) return run(SIGMOID_MUL_KERNEL, { x, g });
  return tf.tidy(() => tf.mul(g, tf.sigmoid(x)));
}

/** dy · d silu(x)/dx = dy · s · (1 + x (1 − s)), s = σ(x); x and dy of one shape. */
export function siluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (hasKernel(SILU_GRAD_KERNEL)) return run(SILU_GRAD_KERNEL, { x, dy }); // one dispatch on webgpu
  return tf.tidy(() => {
    const s = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
  });
}
