/** Live training of a small Mamba on Selective Copying, one Adam step per animation frame. */
import * as tf from '@tensorflow/tfjs';
import { createMambaLM } from '../src/layers/factories';
import { SelectiveCopyingTask } from '../src/tasks/selectiveCopying';
import { Rng } from '../src/tasks/rng';
import { answerAccuracy, inputIds, maskedLmLoss, targetPairs } from '../src/tasks/maskedLoss';
import { drawChart, Point } from './chart';

/** A running training loop; `stop()` ends it after the current step. */
export interface Trainer {
  stop(): void;
  points: Point[];
}

/** Starts training; `onStep` gets the step's numbers and the step time in ms. */
export function startTraining(canvas: HTMLCanvasElement, onStep: (p: Point, ms: number) => void): Trainer {
  const task = new SelectiveCopyingTask({ seqLen: 16, nData: 4, nDataVocab: 4 });
  const model = createMambaLM({ dModel: 32, nLayers: 2, vocabSize: task.vocabSize, dState: 8 });
  const optimizer = tf.train.adam(1e-2);
  const rng = new Rng(1);
  const points: Point[] = [];
  let running = true;
  const step = async (): Promise<void> => {
    if (!running) {
      model.dispose();
      optimizer.dispose();
      return;
    }
    const t0 = performance.now();
    const batch = task.sample(rng, 32);
    const x = inputIds(batch); // (B, T)
    const y = targetPairs(batch); // (B, T, 2)
    let accuracy: tf.Scalar | null = null;
    const loss = optimizer.minimize(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor; // (B, T, V)
      accuracy = tf.keep(answerAccuracy(y, logits));
      return maskedLmLoss(y, logits);
    }, true) as tf.Scalar;
    const acc = accuracy as unknown as tf.Scalar;
    const p = { step: points.length + 1, loss: (await loss.data())[0], accuracy: (await acc.data())[0] };
    tf.dispose([x, y, loss, acc]);
    points.push(p);
    drawChart(canvas, points);
    onStep(p, performance.now() - t0);
    requestAnimationFrame(() => void step());
  };
  requestAnimationFrame(() => void step());
  return { stop: () => { running = false; }, points };
}
