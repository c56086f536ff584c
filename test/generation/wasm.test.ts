/**
 * Recurrent inference and generate on the wasm backend (which also takes the transposed decoding head).
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { selectBackend } from '../../src/backend';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { findMambaLM } from '../../src/layers/factories';
import { disposeCache } from '../../src/layers/cache';
import { generate } from '../../src/generation/generate';
import { expectAllClose } from '../helpers/close';
import { fixtureDir, openReference } from '../helpers/fixtures';

beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

test('wasm: step equals the full forward at all 37 positions, and greedy generate reproduces the reference', async () => {
  const ref = await openReference('tiny-hf');
  const model = await loadCheckpoint(fixtureDir('tiny-hf'));
  const lm = findMambaLM(model);
  const before = tf.memory().numTensors;
  const ids = await ref.int('input_ids');
  const [b, l] = ids.shape;
  const refLogits = (await ref.float('logits')).data;
  const v = lm.paddedVocab;
  const headKernel = lm.decodeHeadKernel();
  expect(headKernel?.shape).toEqual([64, 1000]);
  let cache = lm.emptyCache(b);
  expect(l).toBe(37);
  for (let t = 0; t < l; t++) {
    const col = tf.tensor1d(Array.from({ length: b }, (_, i) => ids.data[i * l + t]), 'int32');
    const out = lm.step(col, cache, headKernel);
    const want = Array.from({ length: b }, (_, i) => Array.from(refLogits.subarray((i * l + t) * v, (i * l + t + 1) * v))).flat();
    expectAllClose(await out.logits.data(), want, 1e-4, `wasm step logits at t=${t}`);
    tf.dispose([col, out.logits]);
    disposeCache(cache);
    cache = out.cache;
  }
  disposeCache(cache);
  headKernel?.dispose();

  const prompt = await ref.int('generate.prompt');
  const rows = [Array.from(prompt.data.subarray(0, 5)), Array.from(prompt.data.subarray(5, 10))];
  const seq = await ref.int('generate.sequences');
  const out = await generate(model, rows, { maxNewTokens: 16, temperature: 0 });
  expect(out.sequences.flat()).toEqual(Array.from(seq.data));
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
  await ref.file.close();
});
