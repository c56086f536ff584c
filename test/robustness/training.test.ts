/**
 * Training health: NanGuard stops fit at the poisoned step and says where; gradient clipping by global norm
 * (the function and the optimizer wrapper, inside model.fit, with serialization intact).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { NanGuard, clipGradientsByGlobalNorm, withClipNorm, createMambaLM, lmLoss, mambaLayer } from '../../src/node';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A small regression model with a Mamba stack: (B, L, 8) → (B, L, 1). */
function smallModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(mambaLayer({ dModel: 8, nLayers: 1, inputShape: [null, 8], seed: 1 }));
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

/** Counts onBatchEnd calls (a CustomCallback: lists of callbacks must not mix instances and plain objects). */
function batchCounter(): { calls: number; callback: tf.CustomCallback } {
  const c = { calls: 0, callback: null as unknown as tf.CustomCallback };
  c.callback = new tf.CustomCallback({ onBatchEnd: async () => { c.calls++; } });
  return c;
}

describe('NanGuard', () => {
  test('stops fit right after the batch whose loss is NaN, naming epoch and step', async () => {
    const model = smallModel();
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
    const x = tf.randomNormal([16, 6, 8], 0, 1, 'float32', 3);
    const yValues = tf.randomNormal([16, 6, 1], 0, 1, 'float32', 4).arraySync() as number[][][];
    yValues[10][2][0] = NaN; // sample 10 is in batch 5 (0-based) at batch size 2: the 6th step
    const y = tf.tensor3d(yValues);
    const guard = new NanGuard();
    const counter = batchCounter();
    const xs = tf.slice(x, [0, 0, 0], [4, 6, 8]);
    const clean = tf.randomNormal([4, 6, 1], 0, 1, 'float32', 5);
    await model.fit(xs, clean, { epochs: 1, batchSize: 4, verbose: 0 }); // warm-up: creates Adam's slots
    const before = tf.memory().numTensors;
    const history = await model.fit(x, y, { epochs: 3, batchSize: 2, shuffle: false, verbose: 0, callbacks: [guard, counter.callback] });
    expect(counter.calls).toBe(6);
    expect(guard.tripped).toBe(true);
    expect(guard.trip).toEqual({ key: 'loss', value: NaN, epoch: 1, step: 6, globalStep: 6 });
    expect(guard.error!.message).toBe('loss became NaN at epoch 1, step 6 (global step 6); training stopped');
    expect(() => guard.throwIfTripped()).toThrow(/loss became NaN at epoch 1, step 6/);
    expect(history.history.loss).toHaveLength(1); // the first epoch ended early, no later epoch ran
    expect(tf.memory().numTensors).toBe(before); // stopping leaks nothing
    // The model can be trained again (fit is not left half-finished); the guard re-arms on train begin.
    // After a NaN step the weights and Adam's moments are NaN: restore weights, start a fresh optimizer.
    model.setWeights(smallModel().getWeights());
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
    await model.fit(xs, clean, { epochs: 1, batchSize: 2, verbose: 0, callbacks: [guard] });
    expect(guard.tripped).toBe(false);
    tf.dispose([x, y, clean, xs]);
    model.dispose();
  });

  test('reports Infinity in a later epoch with its 1-based numbers', async () => {
    const model = smallModel();
    model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' }); // lr 0: the weights stay put
    const x = tf.randomNormal([6, 4, 8], 0, 1, 'float32', 6);
    const y = tf.zeros([6, 4, 1]);
    let epoch = 0;
    // A loss that turns infinite from the second epoch on, at its third batch.
    const poison = new tf.CustomCallback({ onEpochBegin: async (e) => { epoch = e; } });
    const guard = new NanGuard({ monitor: ['loss', 'poison'] });
    const injector = new (class extends tf.Callback {
      override async onBatchEnd(batch: number, logs?: tf.Logs): Promise<void> {
        if (logs && epoch === 1 && batch === 2) logs.poison = Infinity;
      }
    })();
    await model.fit(x, y, { epochs: 4, batchSize: 2, shuffle: false, verbose: 0, callbacks: [poison, injector, guard] });
    expect(guard.trip).toMatchObject({ key: 'poison', value: Infinity, epoch: 2, step: 3, globalStep: 6 });
    expect(guard.error!.message).toBe('poison became Infinity at epoch 2, step 3 (global step 6); training stopped');
    tf.dispose([x, y]);
    model.dispose();
  });

  test('rejects a bad monitor list', () => {
    expect(() => new NanGuard({ monitor: [] })).toThrow(/non-empty array of log keys/);
  });
});

describe('clipGradientsByGlobalNorm', () => {
  test('scales gradients above the limit to a global norm of exactly clipNorm', () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) }; // global norm 13
    const { grads: out, norm } = clipGradientsByGlobalNorm(grads, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
    const a = out.a.dataSync();
    const b = out.b.dataSync();
    expect([...a].map((v) => v * 13)).toEqual([expect.closeTo(3, 5), expect.closeTo(4, 5)]);
    expect(b[0] * 13).toBeCloseTo(12, 5);
    expect(Math.hypot(a[0], a[1], b[0])).toBeCloseTo(1, 6);
    expect(out.b.shape).toEqual([1, 1]);
    tf.dispose([grads.a, grads.b, out.a, out.b, norm]);
  });

  test('leaves gradients below the limit bit-for-bit unchanged', () => {
    const grads = { a: tf.tensor1d([0.3, -0.4]), b: tf.tensor1d([1e-3]) };
    const { grads: out, norm } = clipGradientsByGlobalNorm(grads, 1);
    expect(Buffer.from(out.a.dataSync().buffer).equals(Buffer.from(grads.a.dataSync().buffer))).toBe(true);
    expect(Buffer.from(out.b.dataSync().buffer).equals(Buffer.from(grads.b.dataSync().buffer))).toBe(true);
    expect(norm.dataSync()[0]).toBeCloseTo(0.5, 5);
    tf.dispose([grads.a, grads.b, out.a, out.b, norm]);
  });

  test('checks clipNorm', () => {
    expect(() => clipGradientsByGlobalNorm({}, 0)).toThrow(/clipNorm: expected a positive finite number, got 0/);
    expect(() => withClipNorm(tf.train.sgd(1), NaN)).toThrow(/positive finite number, got NaN/);
  });
});

describe('withClipNorm', () => {
  test('inside model.fit: one SGD step moves the weights by exactly lr × clipNorm', async () => {
    const model = smallModel();
    const lr = 0.5;
    const clip = 1e-3;
    const opt = withClipNorm(tf.train.sgd(lr), clip);
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    const x = tf.randomNormal([4, 5, 8], 0, 1, 'float32', 7);
    const y = tf.randomNormal([4, 5, 1], 0, 3, 'float32', 8);
    const before = model.getWeights().map((w) => w.dataSync().slice());
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const after = model.getWeights().map((w) => w.dataSync());
    let sq = 0;
    after.forEach((w, i) => w.forEach((v, j) => { sq += (v - before[i][j]) ** 2; }));
    expect(Math.sqrt(sq)).toBeCloseTo(lr * clip, 6);
    expect(opt.lastGradNorm()!).toBeGreaterThan(clip); // it was clipped
    tf.dispose([x, y]);
    model.dispose();
  });

  test('a MambaLM fits with a clipped Adam; config and serialization stay Adam\'s', async () => {
    const lm = createMambaLM({ vocabSize: 20, dModel: 8, nLayers: 1, seed: 3 });
    const opt = withClipNorm(tf.train.adam(1e-2), 1.0);
    expect(opt.getClassName()).toBe('Adam');
    expect(opt.getConfig()).toEqual(tf.train.adam(1e-2).getConfig());
    expect(withClipNorm(opt, 2)).toBe(opt); // wrapping again only changes the limit
    expect(opt.clipNorm).toBe(2);
    lm.compile({ optimizer: opt, loss: lmLoss });
    const ids = tf.randomUniform([4, 9], 0, 20, 'int32', 9);
    const inputs = tf.slice(ids, [0, 0], [4, 8]);
    const targets = tf.expandDims(tf.slice(ids, [0, 1], [4, 8]), -1);
    const h = await lm.fit(inputs, targets, { epochs: 3, batchSize: 2, verbose: 0 });
    const losses = h.history.loss as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[2]).toBeLessThan(losses[0]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clipnorm-'));
    try {
      await lm.save(`file://${dir}`, { includeOptimizer: true });
      const again = await tf.loadLayersModel(`file://${dir}/model.json`);
      expect(again.optimizer.getClassName()).toBe('Adam');
      again.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    tf.dispose([ids, inputs, targets]);
    lm.dispose();
  });
});
