import * as tf from '@tensorflow/tfjs';
import { createMambaLM } from '../../src/node';
import { answerAccuracy, inputIds, maskedLmLoss, targetIds, targetPairs } from '../../src/tasks/maskedLoss';
import { Rng } from '../../src/tasks/rng';
import { SelectiveCopyingTask } from '../../src/tasks/selectiveCopying';
import { expectAllClose } from '../helpers/close';

/** Reference: weighted mean of -log softmax(logits)[id] in plain JS with a stable log-sum-exp. */
function referenceLoss(logits: number[], V: number, ids: number[], weights: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || weights[i] === 0) continue;
    const row = logits.slice(i * V, (i + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    num += weights[i] * (lse - row[ids[i]]);
    den += weights[i];
  }
  return den ? num / den : 0;
}

describe('maskedLmLoss / answerAccuracy', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const B = 3;
  const T = 5;
  const V = 7;
  const rng = new Rng(123);
  const logits = Array.from({ length: B * T * V }, () => (rng.next() - 0.5) * 8);
  const ids = Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? -1 : rng.int(V)));
  const weights = ids.map((id, i) => (id < 0 ? 0 : 0.5 + (i % 4)));

  it('matches a plain-JS cross-entropy over the scored positions, for every target format', () => {
    const yPred = tf.tensor3d(logits, [B, T, V]);
    const want = referenceLoss(logits, V, ids, ids.map((id) => (id < 0 ? 0 : 1)));
    const formats = [
      tf.tensor2d(ids, [B, T], 'int32'),
      tf.tensor3d(ids, [B, T, 1], 'int32'),
      tf.tensor3d(ids, [B, T, 1], 'float32'), // as model.fit passes targets
    ];
    for (const yTrue of formats) {
      const got = maskedLmLoss(yTrue, yPred);
      expectAllClose(got.dataSync(), [want], 1e-5, `loss with targets ${yTrue.dtype} [${yTrue.shape}]`);
      got.dispose();
    }
    const pairs = tf.tensor3d(ids.flatMap((id, i) => [id, weights[i]]), [B, T, 2]);
    const got = maskedLmLoss(pairs, yPred);
    expectAllClose(got.dataSync(), [referenceLoss(logits, V, ids, weights)], 1e-5, 'weighted loss');
    tf.dispose([yPred, pairs, got, ...formats]);
  });

  it('is 0 when nothing is scored and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const yPred = tf.randomNormal([2, 3, 4]);
    const none = tf.fill([2, 3, 1], -1, 'int32');
    const loss = maskedLmLoss(none, yPred);
    const acc = answerAccuracy(none, yPred);
    expect(loss.dataSync()[0]).toBe(0);
    expect(acc.dataSync()[0]).toBe(0);
    tf.dispose([yPred, none, loss, acc]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('has zero gradient at ignored positions and the softmax-minus-onehot gradient elsewhere', () => {
    const yPred = tf.tensor3d(logits, [B, T, V]);
    const yTrue = tf.tensor3d(ids, [B, T, 1], 'int32');
    const g = tf.grad((p: tf.Tensor) => maskedLmLoss(yTrue, p))(yPred);
    const gv = g.dataSync();
    const n = ids.filter((id) => id >= 0).length;
    for (let i = 0; i < B * T; i++) {
      const row = logits.slice(i * V, (i + 1) * V);
      const m = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
      for (let v = 0; v < V; v++) {
        const want = ids[i] < 0 ? 0 : (Math.exp(row[v] - m) / z - (v === ids[i] ? 1 : 0)) / n;
        expect(Math.abs(gv[i * V + v] - want)).toBeLessThan(1e-5);
      }
    }
    tf.dispose([yPred, yTrue, g]);
  });

  it('counts argmax hits on scored positions only', () => {
    // Position 0 right, position 1 wrong, position 2 ignored (its argmax would be wrong).
    const yPred = tf.tensor3d([[[5, 0, 0], [5, 0, 0], [0, 0, 5]]]);
    const yTrue = tf.tensor3d([[[0], [1], [-1]]]);
    const acc = answerAccuracy(yTrue, yPred);
    expectAllClose(acc.dataSync(), [0.5], 1e-7, 'accuracy');
    tf.dispose([yPred, yTrue, acc]);
  });

  it('names the expected and actual shapes on a mismatch', () => {
    const yPred = tf.zeros([2, 3, 4]);
    const yTrue = tf.zeros([2, 4, 1]);
    expect(() => maskedLmLoss(yTrue, yPred)).toThrow(/expected shape \[2,3\], \[2,3,1\] or \[2,3,2\], got \[2,4,1\]/);
    expect(() => maskedLmLoss(yTrue, tf.zeros([2, 3]))).toThrow(/expected logits of rank 3/);
    tf.dispose([yPred, yTrue]);
  });

  it('builds tensors from a task batch', () => {
    const task = new SelectiveCopyingTask({ seqLen: 8, nData: 2, nDataVocab: 3 });
    const batch = task.sample(new Rng(0), 2);
    const x = inputIds(batch);
    const y = targetIds(batch);
    const p = targetPairs(batch);
    expect(x.shape).toEqual([2, 10]);
    expect(x.dtype).toBe('int32');
    expect(y.shape).toEqual([2, 10, 1]);
    expect(p.shape).toEqual([2, 10, 2]);
    expect(Array.from(p.dataSync()).filter((_, i) => i % 2 === 1)).toEqual(Array.from(batch.mask));
    tf.dispose([x, y, p]);
  });

  it('works as the loss and metric of model.fit on a MambaLM', async () => {
    const task = new SelectiveCopyingTask({ seqLen: 6, nData: 2, nDataVocab: 3 });
    const batch = task.sample(new Rng(4), 16);
    const model = createMambaLM({ vocabSize: task.vocabSize, dModel: 8, nLayers: 1, dState: 4, seed: 1 });
    model.compile({ optimizer: tf.train.adam(0.01), loss: maskedLmLoss, metrics: [answerAccuracy] });
    const x = inputIds(batch);
    const y = tf.cast(targetIds(batch), 'float32'); // (B, T, 1), -1 where ignored
    const h = await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
    const losses = h.history.loss as number[];
    expect(losses).toHaveLength(3);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Object.keys(h.history).some((k) => k.toLowerCase().includes('accuracy'))).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
