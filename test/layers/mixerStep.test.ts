/**
 * MambaMixerStep (src/ops/kernels/mixerStep.ts) on wasm: a MambaLM's decoding step with the fused mixer kernel
 * (MAMBA_TFJS_FUSED_STEP, the default) against the unfused chain of tfjs kernels, on random small models
 * (float32 and quantize()d int8, the transposed decoding head; R not a multiple of 4, with and without biases, batch 1 and 3): logits and
 * both caches of every layer after each of several steps.
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { selectBackend } from '../../src/backend';
import { createMambaLM, findMambaLM } from '../../src/layers/factories';
import { quantize } from '../../src/layers/quantize';
import { MambaBlockCache, disposeCache } from '../../src/layers/cache';
import { FUSED_STEP_FLAG } from '../../src/flags';
import { MIXER_STEP_KERNEL, RMS_NORM_STEP_KERNEL } from '../../src/ops/kernels/names';
import { mixerStepAvailable } from '../../src/ops/kernels/mixerStep';
import { expectAllClose } from '../helpers/close';
import { setEnvFlag } from '../helpers/flags';

beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  setEnvFlag(FUSED_STEP_FLAG, undefined);
  await tf.setBackend('cpu');
});

/** Logits and caches of `steps` decoding steps from token rows `ids` (B, steps), with the flag set to `fused`. */
function decode(model: tf.LayersModel, ids: number[][], fused: boolean): { logits: Float32Array[]; caches: Float32Array[][] } {
  setEnvFlag(FUSED_STEP_FLAG, fused ? 'true' : 'false');
  const lm = findMambaLM(model);
  const head = lm.decodeHeadKernel(); // (D, V) float32, or null for int8
  let cache = lm.emptyCache(ids.length) as MambaBlockCache[];
  const logits: Float32Array[] = [];
  const caches: Float32Array[][] = [];
  for (let t = 0; t < ids[0].length; t++) {
    const col = tf.tensor1d(ids.map((r) => r[t]), 'int32'); // (B)
    const out = lm.step(col, cache, head);
    logits.push(out.logits.dataSync() as Float32Array);
    caches.push((out.cache as MambaBlockCache[]).flatMap((c) => [c.conv.dataSync() as Float32Array, c.ssm.dataSync() as Float32Array]));
    tf.dispose([col, out.logits]);
    disposeCache(cache);
    cache = out.cache as MambaBlockCache[];
  }
  disposeCache(cache);
  head?.dispose();
  return { logits, caches };
}

const CASES = [
  { name: 'float32, biases, R 3, B 3', bias: true, convBias: true, int8: false, batch: 3 },
  { name: 'float32, no biases, B 1', bias: false, convBias: false, int8: false, batch: 1 },
  { name: 'int8, biases, R 3, B 3', bias: true, convBias: true, int8: true, batch: 3 },
  { name: 'int8, no conv bias, B 1', bias: false, convBias: false, int8: true, batch: 1 },
];

test.each(CASES)('fused step equals the unfused step: $name', async ({ bias, convBias, int8, batch }) => {
  expect(mixerStepAvailable()).toBe(true);
  const float = createMambaLM({ dModel: 20, nLayers: 2, vocabSize: 37, dState: 8, dtRank: 3, dConv: 4, bias, convBias, seed: 7 });
  const model = int8 ? quantize(float) : float;
  const ids = Array.from({ length: batch }, (_, b) => Array.from({ length: 6 }, (_, t) => (b * 11 + t * 5 + 1) % 37));
  const before = tf.memory().numTensors;
  const unfused = decode(model, ids, false);
  const fused = decode(model, ids, true);
  expect(tf.memory().numTensors).toBe(before);
  // The fused path runs MambaMixerStep once per layer, and under half the kernels (reshapes aside: no work); the unfused one runs none.
  const counts = [];
  for (const fused of [false, true]) {
    setEnvFlag(FUSED_STEP_FLAG, String(fused));
    const lm = findMambaLM(model);
    const cache = lm.emptyCache(batch);
    const col = tf.tensor1d(ids.map((r) => r[0]), 'int32'); // (B)
    const info = await tf.profile(() => {
      const out = lm.step(col, cache);
      disposeCache(out.cache);
      return out.logits;
    });
    tf.dispose(col);
    disposeCache(cache);
    counts.push({ all: info.kernels.filter((k) => k.name !== 'Reshape').length, mixer: info.kernels.filter((k) => k.name === MIXER_STEP_KERNEL).length,
      norms: info.kernels.filter((k) => k.name === RMS_NORM_STEP_KERNEL).length });
  }
  expect(counts[0].mixer).toBe(0);
  expect(counts[1].mixer).toBe(2);
  expect(counts[1].norms).toBe(3);
  expect(counts[1].all).toBeLessThan(counts[0].all / 2);
  // int8: the products round activations to int16 (asm/int8.ts), so a 1e-7 difference upstream can move one
  // rounding step, 2⁻¹⁵ of a row's largest value: 1e-4 relative there, 1e-5 for float32.
  const tol = int8 ? 1e-4 : 1e-5;
  for (let t = 0; t < ids[0].length; t++) {
    const scale = Math.max(1, ...Array.from(unfused.logits[t], Math.abs));
    expectAllClose(fused.logits[t], unfused.logits[t], tol * scale, `logits at step ${t}`);
    unfused.caches[t].forEach((c, i) => expectAllClose(fused.caches[t][i], c, tol * Math.max(1, ...Array.from(c, Math.abs)), `cache ${i} at step ${t}`));
    expect(Math.max(...Array.from(fused.caches[t][1], Math.abs))).toBeGreaterThan(0);
  }
  if (int8) float.dispose();
  model.dispose();
});
