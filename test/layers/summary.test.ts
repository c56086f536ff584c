/**
 * model.summary() names MambaLM's vocabulary axis, while the symbolic output keeps it unknown so that `fit` with
 * lmLoss still takes sparse (B, L, 1) targets (see MambaLM.computeOutputShape's porting note).
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { createMambaLM } from '../../src/layers/factories';
import { lmLoss } from '../../src/losses';

/** The lines model.summary() prints. */
function summaryLines(model: tf.LayersModel): string[] {
  const lines: string[] = [];
  model.summary(100, undefined, (line: string) => lines.push(line));
  return lines;
}

test('summary shows (null, null, V) for MambaLM, V being the padded vocabulary', () => {
  const model = createMambaLM({ vocabSize: 30, dModel: 8, nLayers: 1, dState: 4, seed: 1 }); // V = 32
  const row = summaryLines(model).find((l) => l.includes('(MambaLM)'));
  expect(row).toBeDefined();
  expect(row).toMatch(/\[null,null,32\]/);
  expect(model.outputs[0].shape).toEqual([null, null, null]); // the symbolic output: V left unknown on purpose
  model.dispose();
});

test('fit with lmLoss and (B, L, 1) targets still runs and lowers the loss', async () => {
  const model = createMambaLM({ vocabSize: 16, dModel: 16, nLayers: 1, dState: 4, seed: 2 });
  model.compile({ optimizer: tf.train.adam(1e-2), loss: lmLoss });
  const ids = tf.tensor2d(Array.from({ length: 4 * 9 }, (_, i) => (i * 5) % 16), [4, 9], 'int32');
  const x = ids.slice([0, 0], [4, 8]); // (B, L)
  const y = ids.slice([0, 1], [4, 8]).expandDims(-1); // (B, L, 1)
  const history = await model.fit(x, y, { epochs: 8, verbose: 0 });
  const loss = history.history.loss as number[];
  expect(loss.every(Number.isFinite)).toBe(true);
  expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
  tf.dispose([ids, x, y]);
  model.dispose();
});
