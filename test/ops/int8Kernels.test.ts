/**
 * The int8 weight kernels (MambaInt8MatMul, MambaInt8Gather) on cpu (JS loops) and wasm (the SIMD module over
 * tfjs's heap), against a float64 reference of x · dequant(q)ᵀ + bias; shapes cover the SIMD body, the 4-row
 * blocks of prefill, the scalar tails (I not a multiple of 16) and rows padded to 4 bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { onBackend, useScanWasmSuite } from '../helpers/backends';
import { int8Gather, int8Linear } from '../../src/ops/linear/int8';
import { int8Bytes, int8RowBytes, quantizeKernel, quantizeMatrix } from '../../src/ops/kernels/js/int8Math';
import { rng } from '../helpers/random';
import { int8Wasm, wasmHeapMemory } from '../../src/ops/kernels/simd/int8';

useScanWasmSuite();

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2 * scale);
}

/** float64 y (M, O) = x · dequant(q)ᵀ + bias. */
function reference(x: Float32Array, q: Int32Array, scale: Float32Array, bias: Float32Array | null, m: number, i: number, o: number): Float64Array {
  const b = int8Bytes(q);
  const rb = int8RowBytes(i);
  const y = new Float64Array(m * o);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < o; c++) {
      let s = 0;
      for (let k = 0; k < i; k++) s += x[r * i + k] * b[c * rb + k];
      y[r * o + c] = s * scale[c] + (bias ? bias[c] : 0);
    }
  }
  return y;
}

describe('int8 weight kernels', () => {
  test('quantization: per-row scale, |w − dequant(q)| ≤ scale/2, kernel and row layouts agree', () => {
    const [i, o] = [13, 5];
    const k = randn(i * o, 3); // (I, O)
    const { q, scale } = quantizeKernel(k, i, o);
    const b = int8Bytes(q);
    expect(q.length).toBe((o * int8RowBytes(i)) / 4);
    for (let c = 0; c < o; c++) {
      let mx = 0;
      for (let r = 0; r < i; r++) mx = Math.max(mx, Math.abs(k[r * o + c]));
      expect(scale[c]).toBeCloseTo(mx / 127, 6);
      for (let r = 0; r < i; r++) expect(Math.abs(k[r * o + c] - b[c * int8RowBytes(i) + r] * scale[c])).toBeLessThanOrEqual(scale[c] / 2 + 1e-7);
      for (let r = i; r < int8RowBytes(i); r++) expect(b[c * int8RowBytes(i) + r]).toBe(0); // padding
    }
    const t = new Float32Array(o * i); // the transpose, quantized as rows
    for (let r = 0; r < i; r++) for (let c = 0; c < o; c++) t[c * i + r] = k[r * o + c];
    expect(Array.from(quantizeMatrix(t, o, i).q)).toEqual(Array.from(q));
  });

  test('wasm: the SIMD module instantiates over the backend heap (the path the wasm cases take)', async () => {
    await onBackend('wasm', () => {
      const memory = wasmHeapMemory(tf.backend()); // the heap of either build (threaded: shared)
      expect(memory).toBeDefined();
      expect(int8Wasm(memory as WebAssembly.Memory)).not.toBeNull();
    });
  });

  const cases: [number, number, number, boolean][] = [
    [1, 768, 40, false], [1, 33, 7, true], [1, 5, 3, false], [4, 64, 9, true], [7, 100, 6, false], [9, 2100, 3, true],
  ];
  for (const backend of ['cpu', 'wasm']) {
    test.each(cases)(`${backend}: matmul M %i, I %i, O %i, bias %s against float64`, async (m, i, o, withBias) => {
      await onBackend(backend, () => {
        const x = randn(m * i, m * 7 + i, 3);
        // Weights with a large outlier per row, so that the row scale matters.
        const w = randn(o * i, o + i * 3);
        for (let c = 0; c < o; c++) w[c * i + ((c * 5) % i)] = 4 + c;
        const { q, scale } = quantizeMatrix(w, o, i);
        const bias = withBias ? randn(o, 99) : null;
        const ref = reference(x, q, scale, bias, m, i, o);
        const before = tf.memory().numTensors;
        const y = tf.tidy(() => int8Linear(tf.tensor3d(x, [1, m, i]), tf.tensor2d(q, [o, q.length / o], 'int32'), tf.tensor1d(scale), bias ? tf.tensor1d(bias) : null));
        expect(y.shape).toEqual([1, m, o]);
        const got = y.dataSync();
        y.dispose();
        expect(tf.memory().numTensors).toBe(before);
        // cpu: float64 sums (1e-5); wasm: x rounded to 16-bit per row, so error ≤ Σ|q|·scale·max|x|/65534.
        for (let r = 0; r < m; r++) {
          let xmax = 0;
          for (let k = 0; k < i; k++) xmax = Math.max(xmax, Math.abs(x[r * i + k]));
          for (let c = 0; c < o; c++) {
            let qsum = 0;
            for (let k = 0; k < i; k++) qsum += Math.abs(int8Bytes(q)[c * int8RowBytes(i) + k]);
            const bound = backend === 'wasm' ? (qsum * scale[c] * xmax) / 65534 + 1e-5 * Math.abs(ref[r * o + c]) + 1e-6 : 1e-5 * (1 + Math.abs(ref[r * o + c]));
            expect(Math.abs(got[r * o + c] - ref[r * o + c])).toBeLessThanOrEqual(bound);
          }
        }
      });
    });

    test(`${backend}: embedding rows and a bad id`, async () => {
      await onBackend(backend, () => {
        const [v, d] = [11, 6];
        const e = randn(v * d, 5);
        const { q, scale } = quantizeMatrix(e, v, d);
        const ids = [[3, 0], [10, 3]];
        const y = tf.tidy(() => int8Gather(tf.tensor2d(ids, [2, 2], 'int32'), tf.tensor2d(q, [v, 2], 'int32'), tf.tensor1d(scale), d));
        expect(y.shape).toEqual([2, 2, d]);
        const got = y.dataSync();
        y.dispose();
        ids.flat().forEach((id, n) => {
          for (let k = 0; k < d; k++) expect(got[n * d + k]).toBeCloseTo(int8Bytes(q)[id * 8 + k] * scale[id], 6);
        });
        expect(() => tf.tidy(() => int8Gather(tf.tensor1d([11], 'int32'), tf.tensor2d(q, [v, 2], 'int32'), tf.tensor1d(scale), d))).toThrow(/token ids in \[0, 11\), got 11/);
      });
    });
  }
});
