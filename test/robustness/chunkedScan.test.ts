/**
 * The chunked pscan path: a scan from an initial state, and the selective scan in chunks, equal to the
 * unchunked pscan and to the sequential loop — values and gradients (the sequential loop's from plain autodiff).
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { selectiveScan } from '../../src/ops/scan/selectiveScan';
import { chunkLength, chunkedSelectiveScan, scanWithInitialState, DEFAULT_CHUNK_ELEMENTS } from '../../src/ops/scan/chunkedScan';
import { expectAllClose, expectRelClose } from '../helpers/close';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Random selective-scan inputs of realistic magnitudes. */
function inputs(b: number, l: number, ed: number, n: number) {
  return tf.tidy(() => ({
    x: tf.randomNormal([b, l, ed], 0, 1, 'float32', 1),
    delta: tf.softplus(tf.randomNormal([b, l, ed], -1, 1, 'float32', 2)),
    A: tf.neg(tf.exp(tf.randomNormal([ed, n], 0, 0.5, 'float32', 3))),
    B: tf.randomNormal([b, l, n], 0, 1, 'float32', 4),
    C: tf.randomNormal([b, l, n], 0, 1, 'float32', 5),
    D: tf.randomNormal([ed], 1, 0.1, 'float32', 6),
  }));
}

test('scanWithInitialState follows H_t = A_t·H_{t-1} + X_t from h0', () => {
  const [b, t, ed, n] = [2, 7, 3, 2];
  const A = tf.randomUniform([b, t, ed, n], 0.2, 1, 'float32', 7);
  const X = tf.randomNormal([b, t, ed, n], 0, 1, 'float32', 8);
  const h0 = tf.randomNormal([b, ed, n], 0, 1, 'float32', 9);
  const got = scanWithInitialState(A, X, h0).dataSync();
  const [a, x, h] = [A.dataSync(), X.dataSync(), Float32Array.from(h0.dataSync())];
  const want = new Float32Array(got.length);
  const f = ed * n;
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      for (let k = 0; k < f; k++) {
        const i = (bi * t + ti) * f + k;
        h[bi * f + k] = a[i] * h[bi * f + k] + x[i];
        want[i] = h[bi * f + k];
      }
    }
  }
  expectAllClose(got, want, 1e-5, 'H');
  tf.dispose([A, X, h0]);
});

test('chunkLength keeps B·T·ED·N within the budget', () => {
  expect(chunkLength(1, 16384, 128, 16)).toBe(DEFAULT_CHUNK_ELEMENTS / (128 * 16));
  expect(chunkLength(2, 37, 6, 4, 100)).toBe(2);
  expect(chunkLength(2, 37, 6, 4, 1)).toBe(1);
  expect(chunkLength(1, 10, 2, 2, 1e9)).toBe(10);
  expect(() => chunkLength(1, 10, 2, 2, 0)).toThrow(/positive element budget/);
});

describe.each([1, 5, 16, 37])('chunks of %i steps (L 37)', (chunk) => {
  const [b, l, ed, n] = [2, 37, 6, 4];

  test('equal the unchunked pscan and the sequential loop', () => {
    const t = inputs(b, l, ed, n);
    const chunked = chunkedSelectiveScan(t.x, t.delta, t.A, t.B, t.C, t.D, chunk);
    const whole = selectiveScan(t.x, t.delta, t.A, t.B, t.C, t.D, { mode: 'pscan', chunkElements: Infinity });
    const seq = selectiveScan(t.x, t.delta, t.A, t.B, t.C, t.D, { mode: 'sequential' });
    expectAllClose(chunked.dataSync(), whole.dataSync(), 1e-5, 'chunked vs pscan');
    expectAllClose(chunked.dataSync(), seq.dataSync(), 1e-5, 'chunked vs sequential');
    tf.dispose([chunked, whole, seq, ...Object.values(t)]);
  });

  test('gradients equal those of the unchunked pscan and of the sequential loop (plain autodiff)', () => {
    const t = inputs(b, l, ed, n);
    const w = tf.randomNormal([b, l, ed], 0, 1, 'float32', 10);
    const loss = (f: (...a: tf.Tensor[]) => tf.Tensor) => (x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor) =>
      tf.sum(tf.mul(f(x, delta, A, B, C, D), w));
    const args = [t.x, t.delta, t.A, t.B, t.C, t.D];
    const gc = tf.grads(loss((...a) => chunkedSelectiveScan(a[0], a[1], a[2], a[3], a[4], a[5], chunk)))(args);
    const gw = tf.grads(loss((...a) => selectiveScan(a[0], a[1], a[2], a[3], a[4], a[5], { mode: 'pscan', chunkElements: Infinity })))(args);
    // The sequential loop's gradient comes from tfjs's autodiff, not from pscan's hand-written backward, which the
    // chunked and unchunked pscan share.
    const gs = tf.grads(loss((...a) => selectiveScan(a[0], a[1], a[2], a[3], a[4], a[5], { mode: 'sequential' })))(args);
    ['x', 'delta', 'A', 'B', 'C', 'D'].forEach((name, i) => {
      expectRelClose(gc[i].dataSync(), gw[i].dataSync(), 1e-4, `d${name} vs pscan`);
      expectRelClose(gc[i].dataSync(), gs[i].dataSync(), 1e-4, `d${name} vs sequential`);
    });
    tf.dispose([...gc, ...gw, ...gs, w, ...Object.values(t)]);
  });
});

test('selectiveScan chunks the pscan path by itself above the element budget, and leaks nothing', () => {
  const t = inputs(1, 50, 8, 4);
  const before = tf.memory().numTensors;
  const small = selectiveScan(t.x, t.delta, t.A, t.B, t.C, t.D, { mode: 'pscan', chunkElements: 8 * 4 * 7 }); // T = 7
  const whole = selectiveScan(t.x, t.delta, t.A, t.B, t.C, t.D, { mode: 'pscan', chunkElements: Infinity });
  expectAllClose(small.dataSync(), whole.dataSync(), 1e-5, 'auto-chunked vs whole');
  tf.dispose([small, whole]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose(Object.values(t));
});
