/**
 * Sequential linear scan, the reference for pscan: H_t = A_t · H_{t−1} + X_t, H_{−1} = 0.
 *
 * Shape letters: B batch, L length, ED inner channels, N state size.
 *
 * A plain loop over t built from differentiable ops (slice, mul, add, concat), so tfjs's autodiff gives its
 * gradient. L steps deep: slow, but simple enough to trust.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkScanInputs } from './pscan';

/**
 * The linear scan H_t = A_t · H_{t−1} + X_t as a plain loop over t (the reference for pscan; L steps deep).
 * @param A (B, L, ED, N) multipliers (any rank ≥ 2 with length on axis 1)
 * @param X (B, L, ED, N) inputs, same shape
 * @returns H (B, L, ED, N)
 */
export function scanSequential(A: tf.Tensor, X: tf.Tensor): tf.Tensor {
  checkScanInputs(A, X, 'scanSequential');
  return tf.tidy(() => {
    const [b, l, ...rest] = A.shape;
    const stepShape = [b, 1, ...rest];
    const begin = (t: number) => [0, t, ...rest.map(() => 0)];
    const states: tf.Tensor[] = [];
    let h: tf.Tensor = tf.zeros(stepShape); // (B, 1, ED, N)
    for (let t = 0; t < l; t++) {
      const at = tf.slice(A, begin(t), stepShape); // (B, 1, ED, N)
      const xt = tf.slice(X, begin(t), stepShape); // (B, 1, ED, N)
      h = tf.add(tf.mul(at, h), xt); // (B, 1, ED, N)
      states.push(h);
    }
    return states.length === 1 ? states[0] : tf.concat(states, 1); // (B, L, ED, N)
  });
}
