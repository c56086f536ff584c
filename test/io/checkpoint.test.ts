import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { findMambaLM } from '../../src/layers/factories';
import { lmLoss } from '../../src/losses';
import { toTorch } from '../../src/io/hf/layout';
import { expectAllClose, expectRelClose } from '../helpers/close';
import { FIXTURE_NAMES, fixtureDir, openReference } from '../helpers/fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Logits, hidden states, loss and every parameter's gradient against the float64 reference. */
async function checkAgainstReference(fixture: (typeof FIXTURE_NAMES)[number], scanMode: 'pscan' | 'sequential' | 'fused') {
  const ref = await openReference(fixture);
  const model = await loadCheckpoint(fixtureDir(fixture), { scanMode });
  const lm = findMambaLM(model);
  const before = tf.memory().numTensors;
  try {
    const { data: idData, shape: idShape } = await ref.int('input_ids');
    const ids = tf.tensor2d(idData, idShape as [number, number], 'int32');
    const { hidden, logits } = lm.forwardWithHidden(ids);
    const refLogits = await ref.float('logits');
    expect(logits.shape).toEqual(refLogits.shape);
    expectAllClose(logits.dataSync(), refLogits.data, 1e-4, `${fixture} logits`);
    expect(hidden.length).toBe(lm.backbone.config.nLayers + 1);
    for (const [i, h] of hidden.entries()) {
      expectAllClose(h.dataSync(), (await ref.float(`hidden_states.${i}`)).data, 1e-4, `${fixture} hidden_states.${i}`);
    }
    tf.dispose([...hidden, logits]);

    const [b, l] = idShape;
    const vars = lm.weights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const out = lm.call(ids, {}) as tf.Tensor; // (B, L, V)
      const pred = tf.slice(out, [0, 0, 0], [b, l - 1, out.shape[2] as number]); // (B, L−1, V)
      const target = tf.slice(ids, [0, 1], [b, l - 1]); // (B, L−1)
      return lmLoss(target, pred);
    }, vars);
    const refLoss = (await ref.float('loss')).data[0];
    // Measured: 6.5e-8 relative for tiny-hf (one float32 step at 7.29), 0 for the others.
    expect(Math.abs(value.dataSync()[0] - refLoss)).toBeLessThanOrEqual(1e-5 * Math.abs(refLoss));
    const gradKeys = ref.keys().filter((k) => k.startsWith('grad.'));
    expect(gradKeys.length).toBe(lm.weights.length);
    for (const w of lm.weights) {
      const g = grads[(w.read() as tf.Variable).name];
      const torch = toTorch(w.originalName, g.dataSync() as Float32Array, g.shape);
      const refGrad = await ref.float(`grad.${w.originalName}`);
      expect(torch.shape).toEqual(refGrad.shape);
      expectRelClose(torch.data, refGrad.data, 1e-3, `${fixture} grad.${w.originalName}`);
    }
    tf.dispose([value, ...Object.values(grads), ids]);
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    model.dispose();
    await ref.file.close();
  }
}

describe.each(FIXTURE_NAMES)('loadCheckpoint(%s) equals the reference', (fixture) => {
  test.each(['pscan', 'sequential', 'fused'] as const)('%s mode: logits, hidden states, loss, gradients', async (mode) => {
    await checkAgainstReference(fixture, mode);
  }, 300_000); // the sequential mode's gradient is a long chain of small cpu ops
});

test('loadCheckpoint names what is wrong: missing directory, missing config', async () => {
  await expect(loadCheckpoint('/nonexistent/dir')).rejects.toThrow(/expected a checkpoint directory.*missing/);
  await expect(loadCheckpoint(__dirname)).rejects.toThrow(/expected config.json/);
});
