/**
 * quantize(model): the int8 copy of a float32 MambaLM model (weight-only quantization, one scale per output row):
 * in_proj, x_proj, dt_proj, out_proj, the embedding and an untied head become int8 (layers/int8.ts); norms, conv,
 * A_log, D and biases stay float32. The copy runs on the cpu and wasm backends (inference only), saves with
 * `model.save` (int8 words as int32 weights: 1 byte per parameter on disk and in memory) and loads with
 * `tf.loadLayersModel` or `loadModel`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createMambaLM, findMambaLM } from './factories';
import type { MambaLMArgs } from './mambaLM';
import { configForSave } from './config';
import { INT8_SCALE_SUFFIX, int8Layout, quantizeWeight } from './int8';

/** The MambaLM arguments of the int8 copy of `model`'s MambaLM. */
export function int8Args(model: tfl.LayersModel): MambaLMArgs {
  const lm = findMambaLM(model);
  return {
    ...(configForSave(lm.backbone.config) as unknown as MambaLMArgs),
    vocabSize: lm.vocabSize,
    padVocabSizeMultiple: lm.padVocabSizeMultiple,
    ...(lm.lmHead ? { tieEmbeddings: false } : {}),
    weightDtype: 'int8',
    weightInit: 'zeros',
  };
}

/**
 * A new model, the int8 copy of a float32 MambaLM model (made by createMambaLM or loaded). `model` is left as it
 * is; dispose it when only the copy is needed. Each weight is quantized in turn, so the peak is the two models
 * plus one weight's float32 values.
 * @throws Error when the model has no MambaLM layer or is int8 already
 */
export function quantize(model: tfl.LayersModel): tfl.LayersModel {
  const lm = findMambaLM(model);
  if (lm.int8Scales) throw new Error('quantize: expected a float32 MambaLM model, got one whose weights are int8 already');
  const source = new Map(model.weights.map((w) => [w.originalName, w]));
  const out = createMambaLM(int8Args(model));
  const target = new Map(out.weights.map((w) => [w.originalName, w]));
  try {
    for (const [name, w] of target) {
      if (name.endsWith(INT8_SCALE_SUFFIX) && int8Layout(name.slice(0, -INT8_SCALE_SUFFIX.length))) continue; // with its weight
      const src = source.get(name);
      if (!src) throw new Error(`quantize: the int8 model's weight "${name}" has no counterpart in the float32 model`);
      if (!int8Layout(name)) {
        w.write(src.read());
        continue;
      }
      const { q, scale } = quantizeWeight(name, src.read().dataSync() as Float32Array, src.shape as number[]);
      tf.tidy(() => {
        w.write(tf.tensor(q, w.shape as number[], 'int32'));
        target.get(name + INT8_SCALE_SUFFIX)!.write(tf.tensor(scale, [scale.length], 'float32'));
      });
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}
