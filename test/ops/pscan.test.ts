import * as tf from '@tensorflow/tfjs';
import { pscan } from '../../src/ops/scan/pscan';
import { scanSequential } from '../../src/ops/scan/scanSequential';
import { expectRelClose } from '../helpers/close';
import { rng } from '../helpers/random';

/** Random (A, X) of one shape: A in (0.5, 1) like exp(Δ·A), X in (−1, 1). */
function randomInputs(shape: number[], seed: number): { a: Float32Array; x: Float32Array } {
  const r = rng(seed);
  const size = shape.reduce((p, d) => p * d, 1);
  const a = new Float32Array(size);
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a[i] = 0.5 + 0.5 * r();
    x[i] = 2 * r() - 1;
  }
  return { a, x };
}

/** Float64 scan over axis 1 of a (B, L, F) layout, and the loss Σ H·W. */
function scan64(a: ArrayLike<number>, x: ArrayLike<number>, shape: number[], w: ArrayLike<number>): number {
  const [b, l] = shape;
  const f = shape.slice(2).reduce((p, d) => p * d, 1);
  let loss = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let j = 0; j < f; j++) {
      let h = 0;
      for (let t = 0; t < l; t++) {
        const i = (bi * l + t) * f + j;
        h = a[i] * h + x[i];
        loss += h * w[i];
      }
    }
  }
  return loss;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('pscan equals scanSequential (output and both gradients)', () => {
  const lengths = [1, 2, 3, 5, 8, 37, 64, 100, 1000];
  for (const [k, l] of lengths.entries()) {
    test(`L = ${l}`, () => {
      const r = rng(100 + k);
      const shape = l >= 1000 ? [1, l, 2, 3] : [1 + Math.floor(r() * 2), l, 1 + Math.floor(r() * 4), 1 + Math.floor(r() * 5)];
      const { a, x } = randomInputs(shape, 7 + k);
      const w = randomInputs(shape, 99 + k).x;
      const A = tf.tensor(a, shape);
      const X = tf.tensor(x, shape);
      const W = tf.tensor(w, shape);
      const before = tf.memory().numTensors;
      const loss = (f: (p: tf.Tensor, q: tf.Tensor) => tf.Tensor) => (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p, q), W));
      const hp = pscan(A, X);
      const hs = scanSequential(A, X);
      const gp = tf.grads(loss(pscan))([A, X]);
      const gs = tf.grads(loss(scanSequential))([A, X]);
      expectRelClose(hp.dataSync(), hs.dataSync(), 1e-5, `H at L=${l}`);
      expectRelClose(gp[0].dataSync(), gs[0].dataSync(), 1e-5, `dA at L=${l}`);
      expectRelClose(gp[1].dataSync(), gs[1].dataSync(), 1e-5, `dX at L=${l}`);
      expect(hp.shape).toEqual(shape);
      tf.dispose([hp, hs, ...gp, ...gs]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([A, X, W]);
    });
  }
});

describe('pscan gradients agree with finite differences of a float64 scan', () => {
  for (const l of [3, 8, 13]) {
    test(`L = ${l}`, () => {
      const shape = [2, l, 2, 3];
      const { a, x } = randomInputs(shape, 300 + l);
      const w = randomInputs(shape, 400 + l).x;
      const W = tf.tensor(w, shape);
      const [dA, dX] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(pscan(p, q), W)))([tf.tensor(a, shape), tf.tensor(x, shape)]);
      const eps = 1e-6;
      const fd = (src: Float32Array, other: Float32Array, isA: boolean) => {
        const base = Float64Array.from(src);
        const out = new Float64Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const plus = Float64Array.from(base);
          const minus = Float64Array.from(base);
          plus[i] += eps;
          minus[i] -= eps;
          const fp = isA ? scan64(plus, other, shape, w) : scan64(other, plus, shape, w);
          const fm = isA ? scan64(minus, other, shape, w) : scan64(other, minus, shape, w);
          out[i] = (fp - fm) / (2 * eps);
        }
        return out;
      };
      expectRelClose(dA.dataSync(), fd(a, x, true), 1e-5, 'dA vs finite differences');
      expectRelClose(dX.dataSync(), fd(x, a, false), 1e-5, 'dX vs finite differences');
      tf.dispose([dA, dX, W]);
    });
  }
});

test('pscan rejects mismatched shapes with a clear error', () => {
  const a = tf.zeros([1, 4, 2, 3]);
  const x = tf.zeros([1, 4, 2, 2]);
  expect(() => pscan(a, x)).toThrow(/same shape.*\[1,4,2,3\].*\[1,4,2,2\]/);
  tf.dispose([a, x]);
});
