/**
 * The fused decoding-step kernels equal the tf-op versions, on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { selectiveStep } from '../../src/ops/scan/selectiveStep';
import { convStep } from '../../src/ops/conv/convState';
import { hasStepKernels } from '../../src/ops/scan/fusedStep';
import { negExp } from '../../src/ops/activations/negExp';
import { expectAllClose } from '../helpers/close';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['cpu', 'wasm'])('%s', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });

  test.each([[1, 8, 4], [3, 24, 5], [2, 40, 16]])('selective step, B=%i ED=%i N=%i (wasm: SIMD in place when N % 4 = 0)', (b, ed, n) => {
    expect(hasStepKernels()).toBe(true);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const h = tf.randomNormal([b, ed, n], 0, 1, 'float32', 1); // (B, ED, N)
      const x = tf.randomNormal([b, ed], 0, 1, 'float32', 2); // (B, ED)
      const delta = tf.softplus(tf.randomNormal([b, ed], 0, 1, 'float32', 3)); // (B, ED)
      const A = tf.neg(tf.exp(tf.randomNormal([ed, n], 0, 1, 'float32', 4))); // (ED, N)
      const B = tf.randomNormal([b, n], 0, 1, 'float32', 5); // (B, N)
      const C = tf.randomNormal([b, n], 0, 1, 'float32', 6); // (B, N)
      const D = tf.randomNormal([ed], 0, 1, 'float32', 7); // (ED)
      const fused = selectiveStep(h, x, delta, A, B, C, D, 'fused');
      const ops = selectiveStep(h, x, delta, A, B, C, D, 'ops');
      expect(fused.y.shape).toEqual([b, ed]);
      expect(fused.h.shape).toEqual([b, ed, n]);
      expectAllClose(fused.y.dataSync(), ops.y.dataSync(), 1e-5, 'y');
      expectAllClose(fused.h.dataSync(), ops.h.dataSync(), 1e-5, 'h');
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each([[24, 16], [7, 3]])('negExp (A = −exp(A_log) of a step), (%i, %i), equals tf.neg(tf.exp) within 2e-7 relative', (r, c) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomUniform([r, c], -90, 4, 'float32', 8); // past the underflow bound too
      const got = negExp(x).dataSync();
      const want = tf.neg(tf.exp(x)).dataSync();
      want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThanOrEqual(2e-7 * Math.abs(w) + 2e-38)); // subnormal results flush to 0
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each([[1, 4, 6, true], [3, 2, 5, false], [2, 4, 7, false]])('conv step, B=%i K=%i ED=%i bias=%s', (b, k, ed, withBias) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const state = tf.randomNormal([b, k - 1, ed], 0, 1, 'float32', 1); // (B, K−1, ED)
      const x = tf.randomNormal([b, ed], 0, 1, 'float32', 2); // (B, ED)
      const w = tf.randomNormal([k, ed], 0, 1, 'float32', 3); // (K, ED)
      const bias = withBias ? tf.randomNormal([ed], 0, 1, 'float32', 4) : null; // (ED)
      const fused = convStep(state, x, w, bias, 'fused');
      const ops = convStep(state, x, w, bias, 'ops');
      expectAllClose(fused.out.dataSync(), ops.out.dataSync(), 1e-5, 'out');
      expectAllClose(fused.state.dataSync(), ops.state.dataSync(), 0, 'state');
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
