import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import '../../src/node';
import { createMambaLM, findMambaLM, mambaLayer, rmsNorm, mambaBlock } from '../../src/layers/factories';
import { Mamba } from '../../src/layers/mamba';
import { configForSave, resolveMambaConfig } from '../../src/layers/config';
import { lmLoss } from '../../src/losses';
import { expectAllClose } from '../helpers/close';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A toy next-token task: each sequence counts up modulo the vocabulary from a random start. */
function countingBatch(b: number, l: number, vocab: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor3D } {
  let s = seed;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < b; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const start = s % vocab;
    for (let t = 0; t < l; t++) {
      xs.push((start + t) % vocab);
      ys.push((start + t + 1) % vocab);
    }
  }
  return { x: tf.tensor2d(xs, [b, l], 'int32'), y: tf.tensor3d(ys, [b, l, 1], 'int32') };
}

test('weights are named as the checkpoint keys, with the paper initialization', () => {
  const model = createMambaLM({ vocabSize: 30, dModel: 16, nLayers: 2, seed: 1 });
  const lm = findMambaLM(model);
  const names = lm.weights.map((w) => w.originalName);
  expect(names).toContain('backbone.embeddings.weight');
  expect(names).toContain('backbone.layers.1.mixer.in_proj.weight');
  expect(names).toContain('backbone.layers.0.norm.weight');
  expect(names).toContain('backbone.norm_f.weight');
  expect(names.length).toBe(1 + 2 * 10 + 1);
  expect(lm.paddedVocab).toBe(32);
  const byName = new Map(lm.weights.map((w) => [w.originalName, w.read()]));
  const aLog = byName.get('backbone.layers.0.mixer.A_log') as tf.Tensor;
  expect(aLog.shape).toEqual([32, 16]);
  expectAllClose(aLog.dataSync().slice(0, 16), Array.from({ length: 16 }, (_, i) => Math.log(i + 1)), 1e-6, 'A_log row');
  const dt = tf.softplus(byName.get('backbone.layers.0.mixer.dt_proj.bias') as tf.Tensor).dataSync();
  for (const v of dt) {
    expect(v).toBeGreaterThanOrEqual(1e-3 * 0.999);
    expect(v).toBeLessThanOrEqual(0.1 * 1.001);
  }
  const dtW = (byName.get('backbone.layers.0.mixer.dt_proj.weight') as tf.Tensor).dataSync();
  expect(Math.max(...Array.from(dtW, Math.abs))).toBeLessThanOrEqual(1); // R = 1: bound R^−0.5 = 1
  expect(Array.from((byName.get('backbone.layers.0.mixer.D') as tf.Tensor).dataSync())).toEqual(new Array(32).fill(1));
  model.dispose();
});

test('fit lowers the loss of a small MambaLM; tensors stay flat across fit and predict', async () => {
  const model = createMambaLM({ vocabSize: 12, dModel: 16, nLayers: 1, seed: 3 });
  model.compile({ optimizer: tf.train.adam(1e-2), loss: lmLoss });
  const { x, y } = countingBatch(8, 12, 12, 5);
  const first = model.evaluate(x, y) as tf.Scalar;
  await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 }); // creates Adam's slots
  const before = tf.memory().numTensors;
  const hist = await model.fit(x, y, { epochs: 30, batchSize: 8, verbose: 0 });
  const p = model.predict(x) as tf.Tensor;
  p.dispose();
  expect(tf.memory().numTensors).toBe(before);
  const losses = hist.history.loss as number[];
  expect(losses[losses.length - 1]).toBeLessThan(0.5 * first.dataSync()[0]);
  tf.dispose([first, x, y]);
  model.dispose();
});

test('tf.sequential with mambaLayer compiles, fits (loss falls) and predicts', async () => {
  const model = tf.sequential();
  model.add(mambaLayer({ dModel: 8, nLayers: 2, inputShape: [null, 8], seed: 4 }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
  // Target: the running mean of the first input channel, which needs memory across time.
  const x = tf.randomNormal([16, 10, 8], 0, 1, 'float32', 9);
  const y = tf.tidy(() => {
    const c = tf.slice(x, [0, 0, 0], [16, 10, 1]);
    return tf.div(tf.cumsum(c, 1), tf.reshape(tf.range(1, 11), [1, 10, 1]));
  });
  await model.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 }); // creates Adam's slots
  const before = tf.memory().numTensors;
  const hist = await model.fit(x, y, { epochs: 25, batchSize: 16, verbose: 0 });
  const p = model.predict(x) as tf.Tensor;
  expect(p.shape).toEqual([16, 10, 1]);
  p.dispose();
  expect(tf.memory().numTensors).toBe(before);
  const losses = hist.history.loss as number[];
  expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
  expect(model.getWeights().length).toBe(2 * 10 + 2);
  tf.dispose([x, y]);
  model.dispose();
});

test('save to file:// and tf.loadLayersModel round-trip exactly', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-save-'));
  const model = createMambaLM({ vocabSize: 20, dModel: 8, nLayers: 2, seed: 6 });
  const ids = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [2, 5], 'int32');
  const a = model.predict(ids) as tf.Tensor;
  await model.save(`file://${dir}/m`);
  const loaded = await tf.loadLayersModel(`file://${dir}/m/model.json`);
  const b = loaded.predict(ids) as tf.Tensor;
  expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  const lm = findMambaLM(loaded);
  expect(lm.weights.map((w) => w.originalName)).toEqual(findMambaLM(model).weights.map((w) => w.originalName));
  const manifest = JSON.parse(fs.readFileSync(`${dir}/m/model.json`, 'utf8'));
  expect(manifest.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toContain('backbone.layers.1.mixer.A_log');

  const seq = tf.sequential();
  seq.add(mambaLayer({ dModel: 4, nLayers: 1, inputShape: [null, 4], seed: 2 }));
  const xs = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 1);
  const c = seq.predict(xs) as tf.Tensor;
  await seq.save(`file://${dir}/s`);
  const seq2 = await tf.loadLayersModel(`file://${dir}/s/model.json`);
  expect(seq2.layers[0]).toBeInstanceOf(Mamba);
  const d = seq2.predict(xs) as tf.Tensor;
  expect(Array.from(d.dataSync())).toEqual(Array.from(c.dataSync()));
  tf.dispose([ids, a, b, xs, c, d]);
  [model, loaded, seq, seq2].forEach((m) => m.dispose());
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('bad input names what was expected and what came', () => {
  const model = createMambaLM({ vocabSize: 10, dModel: 8, nLayers: 1, seed: 1 });
  const lm = findMambaLM(model);
  const stack = mambaLayer({ dModel: 8, nLayers: 1 });
  afterAll(() => {
    model.dispose();
  });
  test('wrong rank', () => {
    const x = tf.zeros([2, 8]);
    expect(() => stack.apply(x)).toThrow(/expected input of rank 3 \(batch, length, 8\), got shape \[2,8\]/);
    const ids = tf.zeros([2, 3, 1], 'int32');
    expect(() => lm.apply(ids)).toThrow(/expected token ids of rank 2.*got shape \[2,3,1\]/);
    tf.dispose([x, ids]);
  });
  test('wrong last dimension', () => {
    const x = tf.zeros([1, 3, 5]);
    expect(() => stack.apply(x)).toThrow(/expected last dimension 8, got 5/);
    expect(() => rmsNorm({ dModel: 4 }).apply(x)).toThrow(/expected last dimension 4, got 5/);
    expect(() => mambaBlock({ dModel: 6 }).apply(x)).toThrow(/expected last dimension 6, got 5/);
    x.dispose();
  });
  test('non-integer and out-of-range token ids', () => {
    const frac = tf.tensor2d([[1, 2.5]], [1, 2], 'float32');
    expect(() => lm.apply(frac)).toThrow(/expected integer token ids, got 2.5/);
    const big = tf.tensor2d([[1, 16]], [1, 2], 'int32');
    expect(() => lm.apply(big)).toThrow(/expected token ids in \[0, 16\), got 16/);
    const neg = tf.tensor2d([[-1, 0]], [1, 2], 'int32');
    expect(() => lm.apply(neg)).toThrow(/expected token ids in \[0, 16\), got -1/);
    tf.dispose([frac, big, neg]);
  });
  test('a bad config', () => {
    expect(() => mambaLayer({ dModel: 0, nLayers: 1 })).toThrow(/expected dModel to be a positive integer, got 0/);
    expect(() => createMambaLM({ vocabSize: 1.5, dModel: 4, nLayers: 1 })).toThrow(/expected vocabSize to be a positive integer, got 1.5/);
  });
});

describe('scanMode is the one scan switch; the old `pscan` field still loads', () => {
  test('resolveMambaConfig: pscan false (0.1 models) means sequential; an explicit scanMode wins; pscan is not saved', () => {
    expect(resolveMambaConfig({ dModel: 8, nLayers: 1, pscan: false }).scanMode).toBe('sequential');
    expect(resolveMambaConfig({ dModel: 8, nLayers: 1, pscan: true }).scanMode).toBe('auto');
    expect(resolveMambaConfig({ dModel: 8, nLayers: 1, pscan: false, scanMode: 'fused' }).scanMode).toBe('fused');
    const saved = configForSave(resolveMambaConfig({ dModel: 8, nLayers: 1, pscan: false }));
    expect(saved.scanMode).toBe('sequential');
    expect('pscan' in saved).toBe(false);
  });

  test('a model.json written with pscan: false loads with scanMode sequential and the same outputs', async () => {
    const model = tf.sequential();
    model.add(mambaLayer({ dModel: 8, nLayers: 1, inputShape: [null, 8], scanMode: 'sequential', seed: 3 }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-legacy-'));
    try {
      await model.save(`file://${dir}`);
      const file = path.join(dir, 'model.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      const layer = json.modelTopology.config.layers[0].config;
      delete layer.scanMode;
      layer.pscan = false; // as mamba-tfjs 0.1 saved it
      fs.writeFileSync(file, JSON.stringify(json));
      const again = await tf.loadLayersModel(`file://${file}`);
      const inner = again.layers[0] as Mamba;
      expect(inner.getConfig().scanMode).toBe('sequential');
      const x = tf.randomNormal([1, 5, 8], 0, 1, 'float32', 4);
      expectAllClose(await (again.predict(x) as tf.Tensor).data(), await (model.predict(x) as tf.Tensor).data(), 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
