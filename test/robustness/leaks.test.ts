/**
 * Long runs without leaks: tf.memory().numTensors and numBytes stay exactly flat over 100 fit steps (after a
 * warm-up step that creates the optimizer's slots) and over repeated fit calls, 1000 generated tokens (one run)
 * and repeated generate calls, and 20 save/load cycles.
 * Tiny models, cpu backend.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { createMambaLM, generate, lmLoss } from '../../src/node';

interface Usage {
  numTensors: number;
  numBytes: number;
}

function usage(): Usage {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leaks-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Next-token inputs (B, L) and targets (B, L, 1) from random ids. */
function lmBatch(b: number, l: number, vocab: number, seed: number): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => {
    const ids = tf.randomUniform([b, l + 1], 0, vocab, 'int32', seed);
    return { x: tf.slice(ids, [0, 0], [b, l]), y: tf.expandDims(tf.slice(ids, [0, 1], [b, l]), -1) };
  });
}

describe('model.fit', () => {
  test('100 steps in one fit leave memory flat from step to step and after fit', async () => {
    const model = createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, seed: 1 });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: lmLoss });
    const warm = lmBatch(1, 8, 16, 2);
    await model.fit(warm.x, warm.y, { epochs: 1, batchSize: 1, verbose: 0 }); // creates Adam's slots
    const data = lmBatch(100, 8, 16, 3);
    const before = usage();
    const atBatchEnd: Usage[] = [];
    const recorder = new tf.CustomCallback({ onBatchEnd: async () => { atBatchEnd.push(usage()); } });
    await model.fit(data.x, data.y, { epochs: 1, batchSize: 1, shuffle: false, verbose: 0, callbacks: [recorder] });
    expect(atBatchEnd).toHaveLength(100);
    expect(atBatchEnd.filter((u) => u.numTensors !== atBatchEnd[0].numTensors || u.numBytes !== atBatchEnd[0].numBytes)).toEqual([]);
    expect(usage()).toEqual(before);
    tf.dispose([warm.x, warm.y, data.x, data.y]);
    model.dispose();
  });

  test('30 fit calls of one step each leave memory flat after each call', async () => {
    const model = createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, seed: 4 });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: lmLoss });
    const data = lmBatch(2, 8, 16, 5);
    await model.fit(data.x, data.y, { epochs: 1, batchSize: 2, verbose: 0 }); // warm-up
    const before = usage();
    const drift: string[] = [];
    for (let step = 0; step < 30; step++) {
      await model.fit(data.x, data.y, { epochs: 1, batchSize: 2, verbose: 0 });
      const now = usage();
      if (now.numTensors !== before.numTensors || now.numBytes !== before.numBytes) drift.push(`step ${step}: ${JSON.stringify(now)}`);
    }
    expect(drift).toEqual([]);
    tf.dispose([data.x, data.y]);
    model.dispose();
  });
});

describe('generate', () => {
  const model = createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 2, seed: 6 });
  afterAll(() => model.dispose());

  test('one run of 1000 new tokens: flat at every step and after', async () => {
    await generate(model, [[1, 2, 3]], { maxNewTokens: 2, temperature: 'greedy' }); // warm-up
    const before = usage();
    const perStep: Usage[] = [];
    const out = await generate(model, [[1, 2, 3]], {
      maxNewTokens: 1000, temperature: 1, seed: 7, onToken: () => { perStep.push(usage()); },
    });
    expect(out.sequences[0]).toHaveLength(1003);
    expect(perStep).toHaveLength(1000);
    expect(perStep.filter((u) => u.numTensors !== perStep[0].numTensors || u.numBytes !== perStep[0].numBytes)).toEqual([]);
    expect(usage()).toEqual(before);
  });

  test('10 calls of 40 tokens: flat after each call', async () => {
    const before = usage();
    let prompt = [[5, 6]];
    for (let call = 0; call < 10; call++) {
      const out = await generate(model, prompt, { maxNewTokens: 40, temperature: 'greedy' });
      prompt = [out.sequences[0].slice(-4)];
      expect(usage()).toEqual(before);
    }
  });
});

describe('save and load', () => {
  test('20 cycles of model.save + tf.loadLayersModel + dispose leave memory flat', async () => {
    const model = createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, seed: 8 });
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const reference = (model.predict(ids) as tf.Tensor).dataSync().slice();
    const dir = path.join(tmp, 'model');
    const before = usage();
    for (let cycle = 0; cycle < 20; cycle++) {
      await model.save(`file://${dir}`);
      const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
      if (cycle === 0) {
        const again = tf.tidy(() => (loaded.predict(ids) as tf.Tensor).dataSync().slice());
        expect(Buffer.from(again.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
      }
      loaded.dispose();
      expect(usage()).toEqual(before);
    }
    ids.dispose();
    model.dispose();
  });
});
