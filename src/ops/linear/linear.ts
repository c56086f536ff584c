/**
 * The dense projection of the layers: x @ kernel + bias over the last axis.
 *
 * Shape letters: B batch, L length, I input features, O output features.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matMul';

/** x (B, L, I) @ kernel (I, O) [+ bias (O)] → (B, L, O). Kernels are (in, out), torch's transpose. */
export function linear(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const [b, l, i] = x.shape as number[];
    const o = (kernel.shape as number[])[1];
    const flat = tf.reshape(x, [b * l, i]) as tf.Tensor2D; // (B·L, I)
    const y = matMul(flat, kernel as tf.Tensor2D); // (B·L, O)
    const withBias = bias ? tf.add(y, bias) : y; // (B·L, O)
    return tf.reshape(withBias, [b, l, o]); // (B, L, O)
  });
}
