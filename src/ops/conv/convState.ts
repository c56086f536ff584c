/**
 * The causal depthwise conv one step at a time, and the conv state a parallel pass leaves behind.
 *
 * Shape letters: B batch, L length, K conv width, ED inner channels.
 * Tap k of the weight (K, ED) multiplies the input k − (K−1) steps back; tap K−1 is the current step
 * (the convention of causalDepthwiseConv in ./compositeConv.ts).
 *
 * Porting note: tfjs's cpu backend broadcasts a size-1 axis element by element and copies a strided slice one
 * element at a time, each ~50x slower than a matMul over the same data. So the step sums the taps and shifts
 * the window with small matMuls (by a row of ones and by a 0/1 shift matrix: both exact), and every
 * elementwise product broadcasts only over leading axes (the fast path).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedConvStep, resolveStepImpl, StepImpl } from '../scan/fusedStep';

/** (1, K−1, K): row j picks tap j+1, so that shift @ window drops the oldest input. */
function shiftMatrix(k: number): tf.Tensor3D {
  return tf.tidy(() => tf.reshape(tf.slice(tf.eye(k), [1, 0], [k - 1, k]), [1, k - 1, k]) as tf.Tensor3D); // (1, K−1, K)
}

/**
 * One step of the causal conv.
 * @param state  (B, K−1, ED) the previous K−1 inputs, oldest first
 * @param x      (B, ED) this step's input
 * @param weight (K, ED)
 * @param bias   (ED) or null
 * @param impl   'auto' (fused kernel on cpu/wasm, else tf ops), 'fused' or 'ops'
 * @returns out (B, ED) the conv output, and state (B, K−1, ED) the window moved on by one
 */
export function convStep(
  state: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor | null, impl: StepImpl = 'auto',
): { out: tf.Tensor2D; state: tf.Tensor3D } {
  if (resolveStepImpl(impl) === 'fused') {
    return tf.tidy(() => {
      const b = bias ?? tf.zeros([(weight.shape as number[])[1]]); // (ED)
      const [out, next] = fusedConvStep(state, x, weight, b); // (B, ED), (B, K−1, ED)
      return { out, state: next };
    });
  }
  return tf.tidy(() => {
    const [b, ed] = x.shape as number[];
    const k = (weight.shape as number[])[0];
    const window = tf.concat([state, tf.reshape(x, [b, 1, ed])], 1); // (B, K, ED)
    const weighted = tf.mul(window, weight); // (B, K, ED)
    const summed = tf.reshape(tf.matMul(tf.ones([1, 1, k]), weighted), [b, ed]); // (B, ED)
    const out = (bias ? tf.add(summed, bias) : summed) as tf.Tensor2D; // (B, ED)
    const next = tf.matMul(shiftMatrix(k), window) as tf.Tensor3D; // (B, K−1, ED)
    return { out, state: next };
  });
}

/**
 * The conv state after a whole sequence: its last K−1 inputs, zero-padded on the left when L < K−1.
 * @param x (B, L, ED) the conv's inputs
 * @param k K, the conv width
 * @returns (B, K−1, ED)
 */
export function convTail(x: tf.Tensor, k: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, ed] = x.shape as number[];
    const keep = Math.min(l, k - 1);
    const tail = tf.slice(x, [0, l - keep, 0], [b, keep, ed]); // (B, min(L, K−1), ED)
    if (keep === k - 1) return tf.clone(tail) as tf.Tensor3D; // (B, K−1, ED)
    return tf.pad(tail, [[0, 0], [k - 1 - keep, 0], [0, 0]]) as tf.Tensor3D; // (B, K−1, ED)
  });
}
