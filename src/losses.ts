/**
 * Language-modelling loss on logits, without one-hot targets.
 *
 * Shape letters: B batch, L length, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean cross-entropy of logits against integer targets. Picks each target's log-probability with a gather
 * on flat indices, so no (B·L, V) one-hot is ever made (tfjs's string loss 'sparseCategoricalCrossentropy'
 * one-hots). Usable as `model.compile({loss: lmLoss})`.
 * @param yTrue (B, L) or (B, L, 1) target ids (any numeric dtype)
 * @param yPred (B, L, V) logits
 */
export function lmLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const v = yPred.shape[yPred.rank - 1];
    const rows = yPred.size / v;
    if (yTrue.size !== rows) {
      throw new Error(`lmLoss: expected ${rows} targets for logits of shape [${yPred.shape}], got targets of shape [${yTrue.shape}]`);
    }
    const logp = tf.logSoftmax(tf.reshape(yPred, [rows, v])); // (B·L, V)
    const targets = tf.cast(tf.reshape(yTrue, [rows]), 'int32'); // (B·L)
    const flatIndex = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(v, 'int32')), targets); // (B·L)
    const picked = tf.gather(tf.reshape(logp, [rows * v]), flatIndex); // (B·L)
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}
