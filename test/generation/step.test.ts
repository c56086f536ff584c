/**
 * Recurrent inference: step-by-step logits and prefill-then-step logits equal the parallel forward's.
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { createMambaLM, findMambaLM } from '../../src/layers/factories';
import { MambaLM } from '../../src/layers/mambaLM';
import { disposeCache, MambaCache } from '../../src/layers/cache';
import { finalScanState } from '../../src/ops/scan/selectiveStep';
import { pscan } from '../../src/ops/scan/pscan';
import { fusedSelectiveScan, fusedSelectiveScanWithState } from '../../src/ops/scan/fusedSelectiveScan';
import { expectAllClose } from '../helpers/close';
import { FIXTURE_NAMES, fixtureDir, openReference } from '../helpers/fixtures';
import { useWasm } from '../helpers/backend';

beforeAll(async () => {
  await useWasm(); // whole-model chains of small ops: see test/helpers/backend.ts
});

/** Logits (B, V) at position t of (B, L, V) logits, as a flat array. */
function at(logits: tf.Tensor, t: number): Float32Array {
  const [b, , v] = logits.shape as number[];
  return tf.tidy(() => tf.slice(logits, [0, t, 0], [b, 1, v]).dataSync() as Float32Array); // (B, 1, V)
}

/** Feed ids[:, from:] through `step` starting from `cache`; returns the logits at every fed position. */
function stepThrough(lm: MambaLM, ids: tf.Tensor2D, from: number, cache: MambaCache): Float32Array[] {
  const [b, l] = ids.shape;
  const out: Float32Array[] = [];
  let c = cache;
  for (let t = from; t < l; t++) {
    const col = tf.tidy(() => tf.reshape(tf.slice(ids, [0, t], [b, 1]), [b])); // (B,)
    const { logits, cache: next } = lm.step(col, c); // (B, V)
    out.push(logits.dataSync() as Float32Array);
    tf.dispose([col, logits]);
    disposeCache(c);
    c = next;
  }
  disposeCache(c);
  return out;
}

describe.each(FIXTURE_NAMES)('recurrent inference on %s', (fixture) => {
  let lm: MambaLM;
  let model: tf.LayersModel;
  let ids: tf.Tensor2D;
  let full: tf.Tensor;
  let refLogits: { data: Float32Array; shape: number[] };

  beforeAll(async () => {
    model = await loadCheckpoint(fixtureDir(fixture));
    lm = findMambaLM(model);
    const ref = await openReference(fixture);
    const { data, shape } = await ref.int('input_ids');
    refLogits = await ref.float('logits');
    await ref.file.close();
    ids = tf.tensor2d(data, shape as [number, number], 'int32');
    full = lm.call(ids, {}) as tf.Tensor; // (B, L, V)
  });

  afterAll(() => {
    tf.dispose([ids, full]);
    model.dispose();
  });

  test('the full forward matches the reference (sanity)', () => {
    expectAllClose(full.dataSync(), refLogits.data, 1e-4, `${fixture} logits`);
  });

  test('step from an empty cache equals the full forward at every position', () => {
    const before = tf.memory().numTensors;
    const stepped = stepThrough(lm, ids, 0, lm.emptyCache(ids.shape[0]));
    expect(stepped.length).toBe(ids.shape[1]);
    stepped.forEach((s, t) => expectAllClose(s, at(full, t), 1e-4, `${fixture} step logits at t=${t}`));
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each([1, 2, 3, 4, 20, 36])('prefill %i tokens then step equals the full forward', (p) => {
    const before = tf.memory().numTensors;
    const [b, l] = ids.shape;
    const prompt = tf.slice(ids, [0, 0], [b, p]); // (B, P)
    const { logits, cache } = lm.prefill(prompt); // (B, P, V)
    expect(logits.shape).toEqual([b, p, lm.paddedVocab]);
    for (let t = 0; t < p; t++) expectAllClose(at(logits, t), at(full, t), 1e-4, `${fixture} prefill logits at t=${t}`);
    const stepped = stepThrough(lm, ids, p, cache);
    expect(stepped.length).toBe(l - p);
    stepped.forEach((s, i) => expectAllClose(s, at(full, p + i), 1e-4, `${fixture} step logits at t=${p + i}`));
    tf.dispose([prompt, logits]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** Seeded scan inputs: x, delta = softplus(…), A = −exp(…), B, C (B, L, N), D (ED); call inside a tidy. */
function scanInputs(b: number, l: number, ed: number, n: number) {
  return {
    x: tf.randomNormal([b, l, ed], 0, 1, 'float32', 1), // (B, L, ED)
    delta: tf.softplus(tf.randomNormal([b, l, ed], -1, 1, 'float32', 2)), // (B, L, ED)
    A: tf.neg(tf.exp(tf.randomNormal([ed, n], 0, 1, 'float32', 3))), // (ED, N)
    B: tf.randomNormal([b, l, n], 0, 1, 'float32', 4), // (B, L, N)
    C: tf.randomNormal([b, l, n], 0, 1, 'float32', 5), // (B, L, N)
    D: tf.randomNormal([ed], 0, 1, 'float32', 6), // (ED)
  };
}

test('finalScanState equals the last state of pscan, across chunk boundaries', () => {
  const [b, l, ed, n] = [2, 37, 6, 4];
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const { x, delta, A, B } = scanInputs(b, l, ed, n);
    const d4 = tf.reshape(delta, [b, l, ed, 1]); // (B, L, ED, 1)
    const hs = pscan(tf.exp(tf.mul(d4, tf.reshape(A, [1, 1, ed, n]))), tf.mul(tf.mul(d4, tf.reshape(B, [b, l, 1, n])), tf.reshape(x, [b, l, ed, 1]))); // (B, L, ED, N)
    const last = tf.reshape(tf.slice(hs, [0, l - 1, 0, 0], [b, 1, ed, n]), [b, ed, n]).dataSync(); // (B, ED, N)
    for (const chunk of [1, 5, 16, 64]) {
      expectAllClose(finalScanState(x, delta, A, B, chunk).dataSync(), last, 1e-5, `finalScanState chunk ${chunk}`);
    }
  });
  expect(tf.memory().numTensors).toBe(before);
});

test('step names what is wrong: cache length, cache shapes, id shape', () => {
  const model = createMambaLM({ vocabSize: 20, dModel: 8, nLayers: 2, seed: 1 });
  const lm = findMambaLM(model);
  const cache = lm.emptyCache(2);
  const ids = tf.tensor1d([1, 2], 'int32');
  expect(() => lm.step(ids, cache.slice(0, 1))).toThrow(/expected a cache of 2 layers, got 1/);
  expect(() => lm.step(tf.tensor2d([[1]], [1, 1], 'int32'), cache)).toThrow(/expected token ids of shape \(batch,\), got \[1,1\]/);
  expect(() => lm.step(tf.tensor1d([1, 2, 3], 'int32'), cache)).toThrow(/expected conv cache of shape \[3,3,16\], got \[2,3,16\]/);
  disposeCache(cache);
  ids.dispose();
  model.dispose();
});

test('prefillLast and a transposed head kernel give the last position of prefill', async () => {
  await tf.setBackend('cpu'); // the cpu backend keeps no transposed head copy (asserted below); wasm does
  const model = await loadCheckpoint(fixtureDir('tiny-hf'));
  const lm = findMambaLM(model);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const ids = tf.tensor2d([[5, 6, 7, 8, 9], [1, 2, 3, 4, 5]], [2, 5], 'int32');
    const full = lm.prefill(ids); // (B, L, V)
    const last = lm.prefillLast(ids); // (B, V)
    const kernel = tf.transpose(lm.embedding.read()); // (D, V)
    const viaKernel = lm.prefillLast(ids, undefined, kernel); // (B, V)
    const want = tf.slice(full.logits, [0, 4, 0], [2, 1, 1000]).dataSync(); // (B, 1, V)
    expectAllClose(last.logits.dataSync(), want, 1e-5, 'prefillLast logits');
    expectAllClose(viaKernel.logits.dataSync(), want, 1e-4, 'prefillLast logits through the head kernel');
    full.cache.forEach((c, i) => {
      expectAllClose(last.cache[i].ssm.dataSync(), c.ssm.dataSync(), 0, `ssm cache ${i}`);
      expectAllClose(last.cache[i].conv.dataSync(), c.conv.dataSync(), 0, `conv cache ${i}`);
    });
    expect(lm.decodeHeadKernel()).toBeNull(); // cpu: no transposed copy
  });
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

test('a left-padded, masked prefill leaves the same cache as the unpadded prompt', async () => {
  const model = await loadCheckpoint(fixtureDir('tiny-hf'));
  const lm = findMambaLM(model);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const alone = lm.prefillLast(tf.tensor2d([[5, 6]], [1, 2], 'int32')); // (1, V)
    const padded = lm.prefillLast(tf.tensor2d([[0, 0, 0, 0, 5, 6]], [1, 6], 'int32'), tf.tensor2d([[0, 0, 0, 0, 1, 1]])); // (1, V)
    expectAllClose(padded.logits.dataSync(), alone.logits.dataSync(), 1e-5, 'padded logits');
    alone.cache.forEach((c, i) => {
      expectAllClose(padded.cache[i].ssm.dataSync(), c.ssm.dataSync(), 1e-6, `ssm cache ${i}`);
      expectAllClose(padded.cache[i].conv.dataSync(), c.conv.dataSync(), 0, `conv cache ${i}`);
    });
  });
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

test('the fused scan with final states (MambaSelectiveScanState, cpu and wasm, SIMD and JS loops) gives the fused y and finalScanState', async () => {
  const [b, l, ed, n] = [2, 37, 24, 5]; // N 5: padded to 8 in the SIMD module
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    for (const impl of ['simd', 'js']) {
      tf.env().set('MAMBA_TFJS_SCAN_IMPL', impl);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const { x, delta, A, B, C, D } = scanInputs(b, l, ed, n);
        const both = fusedSelectiveScanWithState(x, delta, A, B, C, D);
        expect(both).not.toBeNull();
        const { y, h } = both as { y: tf.Tensor; h: tf.Tensor };
        expect(h.shape).toEqual([b, ed, n]);
        expectAllClose(y.dataSync(), fusedSelectiveScan(x, delta, A, B, C, D).dataSync(), 1e-6, `${backend} ${impl} y`);
        expectAllClose(h.dataSync(), finalScanState(x, delta, A, B).dataSync(), 1e-5, `${backend} ${impl} final state`);
      });
      expect(tf.memory().numTensors).toBe(before);
    }
  }
  tf.env().set('MAMBA_TFJS_SCAN_IMPL', 'simd');
  await useWasm();
});
