/**
 * RMS normalization over the last axis without a weight: x / √(mean(x²) + eps), and its gradient.
 * FalconMamba applies it to Δ, B and C after x_proj; Mamba-2 applies it (with a weight) to the gated output; the fused
 * block (../block/fusedBlock.ts) applies it, with the weight after, as each layer's norm. On webgpu each is one WGSL
 * dispatch (../kernels/webgpu/rmsNormalize.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RMS_NORMALIZE_GRAD_KERNEL, RMS_NORMALIZE_KERNEL } from '../kernels/names';
import { activeBackendHas as hasKernel } from '../kernels/kernelIO';

/** x (…, N) → x · (mean(x²) + eps)^−½ (…, N). */
export function rmsNormalize(x: tf.Tensor, eps: number): tf.Tensor {
  if (hasKernel(RMS_NORMALIZE_KERNEL)) return tf.engine().runKernel(RMS_NORMALIZE_KERNEL, { x } as unknown as tf.NamedTensorMap, { eps }) as tf.Tensor; // (…, N)
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)))); // (…, N)
}

/**
 * The gradient of rmsNormalize for an upstream gradient dy: with r = (mean(x²) + eps)^−½ and y = x·r,
 * dx = r·(dy − y·mean(dy·y)).
 */
export function rmsNormalizeGrad(x: tf.Tensor, eps: number, dy: tf.Tensor): tf.Tensor {
  if (hasKernel(RMS_NORMALIZE_GRAD_KERNEL)) return tf.engine().runKernel(RMS_NORMALIZE_GRAD_KERNEL, { x, dy } as unknown as tf.NamedTensorMap, { eps }) as tf.Tensor; // (…, N)
  return tf.tidy(() => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)); // (…, 1)
    const y = tf.mul(x, r); // (…, N)
    return tf.mul(r, tf.sub(dy, tf.mul(y, tf.mean(tf.mul(dy, y), -1, true)))); // (…, N)
  });
}
