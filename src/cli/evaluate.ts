/**
 * Validation on held-out sequences: loss and accuracy on the scored positions, plus the fraction of
 * sequences whose every scored position is right.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { inputIds, maskedLmLoss, targetIds } from '../tasks/maskedLoss';
import type { Rng } from '../tasks/rng';
import type { Split, Task } from '../tasks/types';

/** Result of one validation. */
export interface EvalResult {
  /** Mean cross-entropy over scored positions. */
  loss: number;
  /** Fraction of scored positions predicted right (argmax). */
  accuracy: number;
  /** Fraction of sequences with every scored position right. */
  seqAccuracy: number;
  /** Number of sequences and of scored positions seen. */
  sequences: number;
  scored: number;
  /** Sequence length evaluated. */
  length: number;
}

/** Options of {@link evaluate}. */
export interface EvalOptions {
  /** Sequence length (default: the task's training length). */
  length?: number;
  /** Data split (default 'val'). */
  split?: Split;
  /** Largest number of tokens per forward pass (default 8192); long sequences get smaller batches. */
  tokenBudget?: number;
}

/** Runs the model on `nSeq` sequences drawn from `rng` and scores its answers. */
export async function evaluate(model: LayersModel, task: Task, rng: Rng, nSeq: number, opts: EvalOptions = {}): Promise<EvalResult> {
  const T = opts.length ?? task.seqLen;
  const chunk = Math.max(1, Math.min(nSeq, Math.floor((opts.tokenBudget ?? 8192) / T)));
  let lossSum = 0;
  let scored = 0;
  let hits = 0;
  let seqHits = 0;
  for (let done = 0; done < nSeq; done += chunk) {
    const b = Math.min(chunk, nSeq - done);
    const batch = task.sample(rng, b, { length: T, split: opts.split ?? 'val' });
    const [lossT, predT] = tf.tidy(() => {
      const logits = model.apply(inputIds(batch), { training: false }) as tf.Tensor; // (b, T, V)
      return [maskedLmLoss(targetIds(batch), logits), tf.argMax(logits, -1)]; // (), (b, T)
    });
    const [lossV, pred] = await Promise.all([lossT.data(), predT.data()]);
    tf.dispose([lossT, predT]);
    let batchScored = 0;
    for (let s = 0; s < b; s++) {
      let allRight = true;
      for (let t = 0; t < T; t++) {
        const i = s * T + t;
        if (batch.y[i] < 0) continue;
        batchScored++;
        if (pred[i] === batch.y[i]) hits++;
        else allRight = false;
      }
      if (allRight) seqHits++;
    }
    lossSum += lossV[0] * batchScored;
    scored += batchScored;
  }
  return {
    loss: scored ? lossSum / scored : 0,
    accuracy: scored ? hits / scored : 0,
    seqAccuracy: nSeq ? seqHits / nSeq : 0,
    sequences: nSeq,
    scored,
    length: T,
  };
}
