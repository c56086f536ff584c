/**
 * Language-modelling loss on logits, without one-hot targets.
 *
 * Shape letters: B batch, L length, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * log p(target) of each row: logSoftmax, then a gather on flat indices (row·V + id), so no (rows, V) one-hot
 * is ever made. Call inside tf.tidy.
 * @param logits (rows, V)
 * @param ids    (rows) int32 ids in [0, V)
 * @returns      (rows)
 */
export function targetLogProbs(logits: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor1D {
  const [rows, v] = logits.shape;
  const logp = tf.reshape(tf.logSoftmax(logits), [rows * v]); // (rows·V)
  // A plain-number operand would upcast the int32 indices to float32, which gather rejects.
  const flatIndex = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(v, 'int32')), ids); // (rows)
  return tf.gather(logp, flatIndex) as tf.Tensor1D; // (rows)
}

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
    const targets = tf.cast(tf.reshape(yTrue, [rows]), 'int32') as tf.Tensor1D; // (B·L)
    const picked = targetLogProbs(tf.reshape(yPred, [rows, v]) as tf.Tensor2D, targets); // (B·L)
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}
