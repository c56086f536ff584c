/**
 * One optimizer step: forward, masked loss, gradients, global-norm clipping, Adam update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { answerAccuracy, inputIds, maskedLmLoss, targetIds } from '../tasks/maskedLoss';
import type { TokenBatch } from '../tasks/types';

/** Numbers of one step. */
export interface StepResult {
  /** Masked cross-entropy of the batch before the update. */
  loss: number;
  /** Answer accuracy of the batch before the update. */
  accuracy: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

/** The model's trainable variables, in a fixed order (the optimizer's slots follow it). */
export function trainableVariables(model: LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Sets the learning rate of a tfjs optimizer (Adam, SGD, ... keep it in a `learningRate` field). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate?: number };
  if (typeof o.learningRate !== 'number') throw new Error(`optimizer ${optimizer.getClassName()}: expected a numeric learningRate field, got ${typeof o.learningRate}`);
  o.learningRate = lr;
}

/** Scales the gradients so their global L2 norm is at most clipNorm (0 = off); returns the norm before. */
function clipByGlobalNorm(grads: tf.NamedTensorMap, clipNorm: number): { clipped: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const sq = names.map((n) => tf.sum(tf.square(grads[n]))); // () each
    const norm = tf.sqrt(sq.length === 1 ? sq[0] : tf.addN(sq)) as tf.Scalar; // ()
    if (!(clipNorm > 0)) return { clipped: Object.fromEntries(names.map((n) => [n, tf.clone(grads[n])])), norm };
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(clipNorm), tf.add(norm, 1e-6))); // ()
    return { clipped: Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], scale)])), norm };
  });
}

/**
 * Trains on one batch. Throws (without updating) when the loss or gradient norm is not finite.
 */
export async function trainStep(
  model: LayersModel,
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  batch: TokenBatch,
  clipNorm: number,
): Promise<StepResult> {
  const x = inputIds(batch); // (B, T)
  const y = targetIds(batch); // (B, T, 1)
  let logits: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as tf.Tensor; // (B, T, V)
    logits = tf.keep(out);
    return maskedLmLoss(y, out); // ()
  }, vars);
  const acc = answerAccuracy(y, logits as tf.Tensor); // ()
  const { clipped, norm } = clipByGlobalNorm(grads, clipNorm);
  try {
    const [lossV, accV, normV] = await Promise.all([value.data(), acc.data(), norm.data()]);
    const result = { loss: lossV[0], accuracy: accV[0], gradNorm: normV[0] };
    if (!Number.isFinite(result.loss) || !Number.isFinite(result.gradNorm)) {
      throw new Error(`training diverged: expected a finite loss and gradient norm, got loss ${result.loss}, norm ${result.gradNorm}; try a lower --lr`);
    }
    optimizer.applyGradients(clipped);
    return result;
  } finally {
    tf.dispose([x, y, value, acc, norm, logits as tf.Tensor]);
    tf.dispose(Object.values(grads));
    tf.dispose(Object.values(clipped));
  }
}
