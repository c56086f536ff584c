/**
 * Mamba-2 (#15): the chunked SSD scan against the sequential recurrence (values, final state, gradients, chunk
 * boundaries, groups), the recurrent step, and the layers as tf.layers citizens: tf.sequential, fit,
 * save / tf.loadLayersModel, prefill + step against the parallel forward.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { ssdChunked, ssdSequential, ssdStep, SsdInputs } from '../../src/ops/ssd/ssd';
import { createMamba2LM, findMamba2LM, mamba2Layer } from '../../src/layers/mamba2/factories';
import { lmLoss } from '../../src/losses';
import { expectAllClose, expectRelClose } from '../helpers/close';
import { rng, uniformArray } from '../helpers/random';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba2-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Random SSD inputs: B 2, H 4, P 3, G 2, N 5, Δ in (0.01, 0.5), A in (−2, −0.2). */
function inputs(l: number, seed: number): SsdInputs {
  const r = rng(seed);
  const [b, h, p, g, n] = [2, 4, 3, 2, 5];
  const t = (shape: number[], lo: number, hi: number) => tf.tensor(uniformArray(r, shape.reduce((x, y) => x * y, 1), lo, hi), shape);
  return {
    x: t([b, l, h, p], -1, 1), dt: t([b, l, h], 0.01, 0.5), a: t([h], -2, -0.2),
    bm: t([b, l, g, n], -1, 1), cm: t([b, l, g, n], -1, 1), d: t([h], -1, 1),
  };
}

describe('SSD scan', () => {
  test.each([[1, 4], [7, 4], [8, 4], [13, 5], [13, 64]])('L %i, chunk %i: chunked equals sequential (y, final state, from h0)', (l, q) => {
    const i = inputs(l, 10 + l);
    const h0 = tf.randomNormal([2, 4, 3, 5], 0, 1, 'float32', 3);
    for (const start of [undefined, h0]) {
      const a = ssdChunked(i, q, start);
      const s = ssdSequential(i, start);
      expect(a.y.shape).toEqual([2, l, 4, 3]);
      expect(a.state.shape).toEqual([2, 4, 3, 5]);
      expectAllClose(a.y.dataSync(), s.y.dataSync(), 1e-5, 'y');
      expectAllClose(a.state.dataSync(), s.state.dataSync(), 1e-5, 'state');
      tf.dispose([a.y, a.state, s.y, s.state]);
    }
    tf.dispose([h0, ...Object.values(i)]);
  });

  test('gradients of the chunked scan equal the sequential one (every input, across chunk boundaries)', () => {
    const i = inputs(11, 5);
    const keys = ['x', 'dt', 'a', 'bm', 'cm', 'd'] as const;
    const w = tf.randomNormal([2, 11, 4, 3], 0, 1, 'float32', 9);
    const grads = (f: (j: SsdInputs) => { y: tf.Tensor; state: tf.Tensor }) => tf.grads((...xs: tf.Tensor[]) => {
      const j = Object.fromEntries(keys.map((k, n) => [k, xs[n]])) as unknown as SsdInputs;
      const out = f(j);
      return tf.add(tf.sum(tf.mul(out.y, w)), tf.sum(tf.square(out.state)));
    })(keys.map((k) => i[k]));
    const a = grads((j) => ssdChunked(j, 4));
    const s = grads((j) => ssdSequential(j));
    keys.forEach((k, n) => expectRelClose(a[n].dataSync(), s[n].dataSync(), 1e-4, `d${k}`));
    tf.dispose([...a, ...s, w, ...Object.values(i)]);
  });

  test('ssdStep, step by step, equals the sequential scan', () => {
    const l = 6;
    const i = inputs(l, 21);
    const ref = ssdSequential(i);
    let state = tf.zeros([2, 4, 3, 5]);
    const at = (t: tf.Tensor, s: number) => tf.squeeze(tf.slice(t, [0, s], [t.shape[0], 1]), [1]);
    for (let s = 0; s < l; s++) {
      const out = ssdStep(state, at(i.x, s), at(i.dt, s), i.a, at(i.bm, s), at(i.cm, s), i.d);
      expectAllClose(out.y.dataSync(), at(ref.y, s).dataSync(), 1e-5, `y at ${s}`);
      state = out.state;
    }
    expectAllClose(state.dataSync(), ref.state.dataSync(), 1e-5, 'final state');
  });

  test('bad shapes are named', () => {
    const i = inputs(3, 1);
    expect(() => ssdChunked({ ...i, bm: tf.zeros([2, 3, 3, 5]) }, 4)).toThrow(/ssdChunked: expected .* G dividing H/);
    expect(() => ssdChunked(i, 0)).toThrow(/positive integer chunk length, got 0/);
  });
});

describe('Mamba2 layers', () => {
  const args = { vocabSize: 30, dModel: 16, nLayers: 2, dState: 8, headDim: 8, nGroups: 2, chunkSize: 4, seed: 5 };

  test('chunked and sequential modes agree; prefill + step equals the parallel forward', () => {
    const model = createMamba2LM(args);
    const seqModel = createMamba2LM({ ...args, scanMode: 'sequential' });
    seqModel.setWeights(model.getWeights());
    const lm = findMamba2LM(model);
    const ids = tf.tensor2d([[1, 5, 7, 2, 9, 3, 3, 0, 11, 29]], [1, 10], 'int32');
    const full = model.predict(ids) as tf.Tensor; // (1, 10, V)
    expectAllClose(full.dataSync(), (seqModel.predict(ids) as tf.Tensor).dataSync(), 1e-5, 'chunked vs sequential');
    const pre = lm.prefill(tf.slice(ids, [0, 0], [1, 6]));
    expectAllClose(pre.logits.dataSync(), tf.slice(full, [0, 0, 0], [1, 6, 32]).dataSync(), 1e-5, 'prefill');
    let cache = pre.cache;
    for (let t = 6; t < 10; t++) {
      const out = lm.step(tf.slice(ids, [0, t], [1, 1]).reshape([1]), cache);
      expectAllClose(out.logits.dataSync(), tf.slice(full, [0, t, 0], [1, 1, 32]).dataSync(), 1e-4, `step ${t}`);
      cache = out.cache;
    }
    model.dispose();
    seqModel.dispose();
  });

  test('fit lowers the loss; save → tf.loadLayersModel gives the same model', async () => {
    const model = createMamba2LM({ ...args, tieEmbeddings: false });
    model.compile({ optimizer: tf.train.adam(1e-2), loss: lmLoss });
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]], [2, 8], 'int32');
    const y = tf.reshape(tf.tensor2d([[2, 3, 4, 5, 6, 7, 8, 9], [7, 6, 5, 4, 3, 2, 1, 0]], [2, 8], 'int32'), [2, 8, 1]);
    const hist = await model.fit(x, y, { epochs: 15, verbose: 0 });
    const losses = hist.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    await model.save(`file://${tmp}/lm`);
    const loaded = await tf.loadLayersModel(`file://${tmp}/lm/model.json`);
    const lm = findMamba2LM(loaded);
    expect(lm.lmHead).not.toBeNull();
    expect(lm.backbone.config).toMatchObject({ headDim: 8, nGroups: 2, chunkSize: 4, dState: 8 });
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    expect(loaded.weights.map((w) => w.originalName)).toEqual(model.weights.map((w) => w.originalName));
    model.dispose();
    loaded.dispose();
  });

  test('mamba2Layer in tf.sequential: fit, save, load', async () => {
    const model = tf.sequential();
    model.add(mamba2Layer({ dModel: 8, nLayers: 1, headDim: 4, dState: 4, chunkSize: 3, inputShape: [null, 8], seed: 1 }));
    model.add(tf.layers.dense({ units: 1 }));
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    const x = tf.randomNormal([4, 7, 8], 0, 1, 'float32', 2);
    const y = tf.randomNormal([4, 7, 1], 0, 1, 'float32', 3);
    await model.fit(x, y, { epochs: 2, verbose: 0 });
    await model.save(`file://${tmp}/seq`);
    const loaded = await tf.loadLayersModel(`file://${tmp}/seq/model.json`);
    expectAllClose((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync(), 0, 'loaded');
    model.dispose();
    loaded.dispose();
  });

  test('bad configs are named', () => {
    expect(() => createMamba2LM({ ...args, headDim: 5 })).toThrow(/expected headDim to divide expandFactor·dModel = 32, got 5/);
    expect(() => createMamba2LM({ ...args, nGroups: 3 })).toThrow(/expected nGroups to divide the 4 heads, got 3/);
  });
});
