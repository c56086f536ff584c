/**
 * The depthwise causal conv and its gradient from plain tf ops (K shifted slices): the path of backends without
 * the fused conv kernel (../kernels/conv.ts), and the reference the kernel is tested against.
 *
 * Shape letters: B batch, L length, ED inner channels, K conv width (tap K−1 is the current step).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Depthwise causal conv over the length axis as K shifted slices (the wasm backend has no depthwise-conv
 * gradient): out_t = Σ_k w[k] · x_{t−(K−1)+k} + bias, zeros before the start; tap K−1 is the current step.
 * @param x      (B, L, ED)
 * @param weight (K, ED)
 * @param bias   (ED) or null
 * @returns      (B, L, ED)
 */
export function causalDepthwiseConv(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const [b, l, ed] = x.shape as number[];
    const k = (weight.shape as number[])[0];
    const padded = k > 1 ? tf.pad(x, [[0, 0], [k - 1, 0], [0, 0]]) : x; // (B, L+K−1, ED)
    let out: tf.Tensor | null = bias ? tf.reshape(bias, [1, 1, ed]) : null; // (1, 1, ED)
    for (let tap = 0; tap < k; tap++) {
      const shifted = tf.slice(padded, [0, tap, 0], [b, l, ed]); // (B, L, ED)
      const w = tf.reshape(tf.slice(weight, [tap, 0], [1, ed]), [1, 1, ed]); // (1, 1, ED)
      const term = tf.mul(shifted, w); // (B, L, ED)
      out = out ? tf.add(out, term) : term; // (B, L, ED)
    }
    return out as tf.Tensor; // (B, L, ED)
  });
}

/**
 * Gradients of sum(causalDepthwiseConv(x, weight, bias) · dy), from the same shifted slices (for backends without
 * the fused conv kernel): dx_s = Σ_k w[k] · dy_{s+(K−1)−k}, dw[k] = Σ_{b,t} dy_t · x_{t−(K−1)+k}, dbias = Σ dy.
 * @param x      (B, L, ED)
 * @param weight (K, ED)
 * @param dy     (B, L, ED)
 * @returns      [dx (B, L, ED), dweight (K, ED), dbias (ED)]
 */
export function causalDepthwiseConvGrad(x: tf.Tensor, weight: tf.Tensor, dy: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => {
    const [b, l, ed] = x.shape as number[];
    const k = (weight.shape as number[])[0];
    const xPad = k > 1 ? tf.pad(x, [[0, 0], [k - 1, 0], [0, 0]]) : x; // (B, L+K−1, ED)
    const dyPad = k > 1 ? tf.pad(dy, [[0, 0], [0, k - 1], [0, 0]]) : dy; // (B, L+K−1, ED)
    let dx: tf.Tensor | null = null;
    const dw: tf.Tensor[] = [];
    for (let tap = 0; tap < k; tap++) {
      const w = tf.reshape(tf.slice(weight, [tap, 0], [1, ed]), [1, 1, ed]); // (1, 1, ED)
      const term = tf.mul(tf.slice(dyPad, [0, k - 1 - tap, 0], [b, l, ed]), w); // (B, L, ED)
      dx = dx ? tf.add(dx, term) : term; // (B, L, ED)
      dw.push(tf.sum(tf.mul(dy, tf.slice(xPad, [0, tap, 0], [b, l, ed])), [0, 1])); // (ED)
    }
    return [dx as tf.Tensor, tf.stack(dw), tf.sum(dy, [0, 1])]; // (B, L, ED), (K, ED), (ED)
  });
}
