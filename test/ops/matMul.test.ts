/**
 * The 2-d products of src/ops/linear/matMul.ts: the K-split weight-gradient product (webgpu's, checked here on
 * cpu, where the arithmetic is the same) against a float64 reference, the split counts kSplit picks, and matMulTAEach
 * (one a, several b) on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { kSplit, matMulTA, matMulTAEach, matMulTASplit, matMulTB } from '../../src/ops/linear/matMul';
import { onBackend } from '../helpers/backends';
import { rng, uniformArray } from '../helpers/random';

/** aᵀ @ b in float64 for a (K, M), b (K, O), row-major. */
function refTA(a: Float32Array, b: Float32Array, k: number, m: number, o: number): Float64Array {
  const out = new Float64Array(m * o);
  for (let r = 0; r < k; r++) for (let i = 0; i < m; i++) for (let j = 0; j < o; j++) out[i * o + j] += a[r * m + i] * b[r * o + j];
  return out;
}

const maxRel = (got: Float32Array, ref: Float64Array) => {
  let scale = 0;
  let err = 0;
  ref.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    err = Math.max(err, Math.abs(got[i] - v));
  });
  return err / scale;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('matMulTASplit', () => {
  const [k, m, o] = [96, 5, 7];
  const r = rng(3);
  const a = uniformArray(r, k * m, -1, 1);
  const b = uniformArray(r, k * o, -1, 1);
  const ref = refTA(a, b, k, m, o);

  test.each([1, 2, 4, 8, 32, 96])('K 96 in %i slices equals the float64 aᵀb (1e-6), and leaves no tensor', (s) => {
    const before = tf.memory().numTensors;
    const [ta, tb] = [tf.tensor2d(a, [k, m]), tf.tensor2d(b, [k, o])];
    const got = matMulTASplit(ta, tb, s);
    expect(got.shape).toEqual([m, o]);
    expect(maxRel(got.dataSync() as Float32Array, ref)).toBeLessThan(1e-6);
    tf.dispose([ta, tb, got]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a slice count that does not divide K is refused', () => {
    const [ta, tb] = [tf.zeros([10, 2]) as tf.Tensor2D, tf.zeros([10, 3]) as tf.Tensor2D];
    expect(() => matMulTASplit(ta, tb, 3)).toThrow('matMulTASplit: expected a slice count dividing K 10, got 3');
    tf.dispose([ta, tb]);
  });

  test('matMulTA and matMulTB on cpu equal the plain products', () => tf.tidy(() => {
    const [ta, tb] = [tf.tensor2d(a, [k, m]), tf.tensor2d(b, [k, o])];
    expect(maxRel(matMulTA(ta, tb).dataSync() as Float32Array, ref)).toBeLessThan(1e-6);
    const tbT = tf.transpose(tb); // (O, K)
    const ab = tf.matMul(tf.transpose(ta), tb); // (M, O)
    const viaTB = matMulTB(tf.transpose(ta), tbT); // (M, K) @ (O, K)ᵀ
    expect(maxRel(viaTB.dataSync() as Float32Array, Float64Array.from(ab.dataSync()))).toBeLessThan(1e-6);
  }));
});

describe('kSplit', () => {
  test('splits only long K: weight gradients of B·L ≥ 8192 rows, more slices for fewer output tiles', () => {
    expect(kSplit(4096, 16, 512)).toBe(1); // short K: the dispatches cost more than they save
    expect(kSplit(8192, 256, 1024)).toBe(1); // many tiles already
    expect(kSplit(8192, 16, 512)).toBe(16); // 16 tiles: K / 512 slices
    expect(kSplit(32768, 16, 512)).toBe(64); // capped at 64
    expect(kSplit(32768, 512, 48)).toBe(16);
    expect(kSplit(32768, 256, 1024)).toBe(8);
  });

  test('the slice count always divides K', () => {
    for (const k of [8192, 8200, 12345, 16386, 32768, 40000]) {
      for (const [m, o] of [[16, 512], [512, 48], [256, 1024]]) {
        const s = kSplit(k, m, o);
        expect(k % s).toBe(0);
      }
    }
  });
});

describe('matMulTAEach', () => {
  test.each(['cpu', 'wasm'])('%s: aᵀ @ b for each b equals the float64 reference (one transpose of a on wasm)', async (backend) => {
    await onBackend(backend, () => {
      const [k, m] = [37, 6];
      const r = rng(41);
      const a = uniformArray(r, k * m, -1, 1); // (K, M)
      const bs = [uniformArray(r, k * 5, -1, 1), uniformArray(r, k * 9, -1, 1)]; // (K, 5), (K, 9)
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => matMulTAEach(tf.tensor2d(a, [k, m]), bs.map((b, j) => tf.tensor2d(b, [k, [5, 9][j]]))).map((t) => t.dataSync() as Float32Array));
      expect(tf.memory().numTensors).toBe(before);
      got.forEach((g, j) => {
        const o = [5, 9][j];
        expect(g.length).toBe(m * o);
        expect(maxRel(g, refTA(a, bs[j], k, m, o))).toBeLessThan(1e-6);
      });
    });
  });
});
