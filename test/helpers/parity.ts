/**
 * A loaded checkpoint against its fixture's float64 reference: logits and every hidden state within 1e-4,
 * the loss within 1e-5 relative, every parameter's gradient within 1e-3 of the largest reference magnitude.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { MambaLM } from '../../src/layers/mambaLM';
import { lmLoss } from '../../src/losses';
import { toTorch } from '../../src/io/hf/layout';
import { expectAllClose, expectRelClose } from './close';
import { FixtureName, openReference } from './fixtures';

/** What the check needs of a language-model layer (MambaLM, Mamba2LM). */
export interface ParityLM {
  weights: { originalName: string; read(): tf.Tensor }[];
  nLayers: number;
  forwardWithHidden(ids: tf.Tensor): { hidden: tf.Tensor[]; logits: tf.Tensor };
  call(ids: tf.Tensor, kwargs: object): tf.Tensor | tf.Tensor[];
}

/** A MambaLM seen as a ParityLM. */
export function lmView(lm: MambaLM): ParityLM {
  return { weights: lm.weights, nLayers: lm.backbone.config.nLayers, forwardWithHidden: (ids) => lm.forwardWithHidden(ids), call: (ids, k) => lm.call(ids, k) };
}

/** Check `lm` (inside `model`, disposed at the end) against `fixture`'s reference; no tensor may leak. */
export async function checkAgainstReference(fixture: FixtureName, model: LayersModel, lm: ParityLM): Promise<void> {
  const ref = await openReference(fixture);
  const before = tf.memory().numTensors;
  try {
    const { data: idData, shape: idShape } = await ref.int('input_ids');
    const ids = tf.tensor2d(idData, idShape as [number, number], 'int32');
    const { hidden, logits } = lm.forwardWithHidden(ids);
    const refLogits = await ref.float('logits');
    expect(logits.shape).toEqual(refLogits.shape);
    expectAllClose(logits.dataSync(), refLogits.data, 1e-4, `${fixture} logits`);
    expect(hidden.length).toBe(lm.nLayers + 1);
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
