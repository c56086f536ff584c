/**
 * Loss and accuracy restricted to scored positions, in the `(yTrue, yPred)` form that
 * `model.compile({loss, metrics})` accepts, so both a custom loop and `model.fit` can use them.
 *
 * Target formats (yTrue), all numeric (float32 from `model.fit` is fine, ids are rounded):
 * - (B, T) or (B, T, 1): token ids, with -1 (any negative) marking ignored positions;
 * - (B, T, 2): [id, weight] pairs; a negative id also ignores the position.
 * yPred is the logits, (B, T, V). No one-hot is built: the log-probability of each target is
 * gathered from the flattened log-softmax.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TokenBatch } from './types';
import { targetLogProbs } from '../losses';

/** Ids and weights of every position, flattened to (N) with N = B*T. */
interface FlatTargets {
  /** Target ids clamped to >= 0 (ignored positions point at id 0), (N) int32. */
  ids: tf.Tensor1D;
  /** Weights, 0 at ignored positions, (N) float32. */
  weights: tf.Tensor1D;
}

/** Checks shapes and splits yTrue into ids and weights; call inside tf.tidy. */
function flatTargets(yTrue: tf.Tensor, yPred: tf.Tensor): FlatTargets {
  if (yPred.rank !== 3) throw new Error(`yPred: expected logits of rank 3 (B, T, V), got shape [${yPred.shape}]`);
  const [B, T] = yPred.shape;
  const N = B * T;
  const last = yTrue.rank === 3 ? yTrue.shape[2] : 1;
  const leadOk = yTrue.shape[0] === B && yTrue.shape[1] === T;
  if (!leadOk || (yTrue.rank !== 2 && yTrue.rank !== 3) || (last !== 1 && last !== 2)) {
    throw new Error(`yTrue: expected shape [${B},${T}], [${B},${T},1] or [${B},${T},2], got [${yTrue.shape}]`);
  }
  const pairs = tf.reshape(yTrue, [N, last]); // (N, 1|2)
  const rawIds = tf.reshape(tf.slice(pairs, [0, 0], [N, 1]), [N]); // (N)
  const ids = tf.cast(yTrue.dtype === 'int32' ? rawIds : tf.round(rawIds), 'int32'); // (N) int32
  const valid = tf.cast(tf.greaterEqual(ids, tf.scalar(0, 'int32')), 'float32'); // (N)
  const w = last === 2 ? tf.cast(tf.reshape(tf.slice(pairs, [0, 1], [N, 1]), [N]), 'float32') : tf.onesLike(valid); // (N)
  const zero = tf.scalar(0, 'int32'); // a plain 0 would upcast the ids to float32
  return { ids: tf.maximum(ids, zero) as tf.Tensor1D, weights: tf.mul(valid, w) as tf.Tensor1D };
}

/**
 * Mean cross-entropy over the scored positions: sum_i w_i * -log p(y_i) / sum_i w_i
 * (0 when nothing is scored).
 */
export function maskedLmLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const { ids, weights } = flatTargets(yTrue, yPred); // (N), (N)
    const [B, T, V] = yPred.shape;
    const N = B * T;
    const picked = targetLogProbs(tf.reshape(yPred, [N, V]) as tf.Tensor2D, ids); // (N)
    const total = tf.sum(weights); // ()
    const nll = tf.sum(tf.mul(tf.neg(picked), weights)); // () (negate first: 0 weights then give +0, not -0)
    return tf.div(nll, tf.maximum(total, 1e-12)) as tf.Scalar; // ()
  });
}

/** Weighted fraction of scored positions whose argmax logit equals the target (0 when none). */
export function answerAccuracy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const { ids, weights } = flatTargets(yTrue, yPred); // (N), (N)
    const [B, T, V] = yPred.shape;
    const pred = tf.argMax(tf.reshape(yPred, [B * T, V]), -1); // (N) int32
    const hit = tf.cast(tf.equal(pred, ids), 'float32'); // (N)
    return tf.div(tf.sum(tf.mul(hit, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar; // ()
  });
}

/** The batch's targets as a (B, T, 1) int32 tensor with -1 at ignored positions. */
export function targetIds(batch: TokenBatch): tf.Tensor3D {
  return tf.tensor3d(batch.y, [batch.batch, batch.length, 1], 'int32'); // (B, T, 1)
}

/** The batch's targets as a (B, T, 2) float32 tensor of [id, weight] pairs. */
export function targetPairs(batch: TokenBatch): tf.Tensor3D {
  const n = batch.batch * batch.length;
  const packed = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    packed[2 * i] = batch.y[i];
    packed[2 * i + 1] = batch.mask[i];
  }
  return tf.tensor3d(packed, [batch.batch, batch.length, 2], 'float32'); // (B, T, 2)
}

/** The batch's inputs as a (B, T) int32 tensor. */
export function inputIds(batch: TokenBatch): tf.Tensor2D {
  return tf.tensor2d(batch.x, [batch.batch, batch.length], 'int32'); // (B, T)
}
