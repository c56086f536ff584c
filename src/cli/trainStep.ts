/**
 * One optimizer step: forward, masked loss, gradients, global-norm clipping, Adam update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { answerAccuracy, inputIds, maskedLmLoss, targetIds } from '../tasks/maskedLoss';
import { clipGradientsByGlobalNorm } from '../training/clipNorm';
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

/** Global L2 norm of the gradients, without clipping (for --clip-norm 0). */
function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g))); // () each
    return tf.sqrt(sq.length === 1 ? sq[0] : tf.addN(sq)) as tf.Scalar; // ()
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
  const { grads: clipped, norm } = clipNorm > 0 ? clipGradientsByGlobalNorm(grads, clipNorm) : { grads, norm: globalNorm(grads) };
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
