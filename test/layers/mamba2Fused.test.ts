/**
 * The Mamba-2 block in scan mode 'fused' (#15) on the wasm backend (the kernels that read and write tfjs-wasm's
 * heap): output and every weight gradient equal the chunked and sequential modes; the fused grad step's peak tensor
 * memory grows linearly with L and stays below the chunked scan's, and the scan op's far below one (L, ED, N) tensor.
 *
 * Shapes: B batch, L length, D model width, ED inner channels, N state size.
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { Mamba2Block } from '../../src/layers/mamba2/mamba2Block';
import { expectRelClose } from '../helpers/close';
import { onBackend } from '../helpers/backends';
import { fusedSsd } from '../../src/ops/ssd/fusedSsd';

type Mode = 'fused' | 'chunked' | 'sequential' | 'auto';

/** A block of width `dModel` (ED = 2·dModel, heads of 8 or 16) with fixed seeded weights. */
function block(mode: Mode, dState: number, dModel = 16, headDim = 8, nGroups = 2, chunkSize = 4): Mamba2Block {
  return new Mamba2Block({ dModel, headDim, nGroups, dState, chunkSize, scanMode: mode, seed: 3 });
}

/** Frees a block's weights (called directly, the layer was never applied, so Layer.dispose refuses). */
function free(b: Mamba2Block): void {
  b.weights.forEach((w) => w.dispose());
}

/** Output and gradients of Σ y·w with respect to x and every weight. */
function outAndGrads(b: Mamba2Block, x: tf.Tensor, w: tf.Tensor): { y: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const vars = b.trainableWeights.map((v) => v.read() as tf.Variable);
    const y = b.call(x, {}) as tf.Tensor;
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(b.call(x, {}) as tf.Tensor, w)) as tf.Scalar, vars);
    const gx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(b.call(xi, {}) as tf.Tensor, w)))(x);
    return { y: y.dataSync() as Float32Array, grads: [gx, ...vars.map((v) => grads[v.name])].map((g) => g.dataSync() as Float32Array) };
  });
}

describe('Mamba2Block, scan mode fused (wasm backend)', () => {
  test('auto runs fused; fused equals chunked and sequential (output, d input, every weight gradient)', async () => {
    await onBackend('wasm', () => {
      const x = tf.randomNormal([2, 11, 16], 0, 1, 'float32', 1); // (B, L, D)
      const w = tf.randomNormal([2, 11, 16], 0, 1, 'float32', 2); // (B, L, D)
      const ref = block('sequential', 6);
      const refOut = outAndGrads(ref, x, w);
      for (const mode of ['fused', 'chunked', 'auto'] as const) {
        const b = block(mode, 6);
        b.setWeights(ref.getWeights());
        const before = tf.memory().numTensors;
        const out = outAndGrads(b, x, w);
        expect(tf.memory().numTensors).toBe(before);
        expectRelClose(out.y, refOut.y, 1e-5, `${mode} y`);
        out.grads.forEach((g, k) => expectRelClose(g, refOut.grads[k], 1e-4, `${mode} grad ${k}`));
        free(b);
      }
      free(ref);
      tf.dispose([x, w]);
    });
  });

  test('peak memory of a fused grad step is O(L·ED): linear in L, below the chunked scan; the scan op far below (L, ED, N)', async () => {
    await onBackend('wasm', async () => {
      const profilePeak = async (f: () => tf.Tensor[]): Promise<number> => {
        const base = tf.memory().numBytes;
        const info = await tf.profile(() => tf.dispose(f()));
        return info.peakBytes - base;
      };
      // The block (ED 128, H 8, N 64, chunk 64): tfjs autodiff keeps O(L·(ED + 2·N)) intermediates of every op.
      const blockPeak = async (mode: Mode, l: number): Promise<number> => {
        const b = block(mode, 64, 64, 16, 1, 64);
        const x = tf.randomNormal([1, l, 64], 0, 1, 'float32', 4); // (B, L, D)
        const vars = b.trainableWeights.map((v) => v.read() as tf.Variable);
        const peak = await profilePeak(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(b.call(x, {}) as tf.Tensor) as tf.Scalar, vars);
          return [value, ...Object.values(grads)];
        });
        x.dispose();
        free(b);
        return peak;
      };
      const [p128, p512] = [await blockPeak('fused', 128), await blockPeak('fused', 512)];
      expect(p512 / p128).toBeGreaterThan(3);
      expect(p512 / p128).toBeLessThan(4.5);
      expect(p512).toBeLessThan(await blockPeak('chunked', 512));
      // The scan op alone, the same sizes: inputs, outputs and gradients, O(L·(H·P + 2·G·N)).
      const [l, h, p, n] = [1024, 8, 16, 64];
      const t = (shape: number[], seed: number) => tf.randomUniform(shape, 0.01, 0.1, 'float32', seed);
      const ins = [t([1, l, h, p], 1), t([1, l, h], 2), tf.neg(t([h], 3)), t([1, l, 1, n], 4), t([1, l, 1, n], 5), t([h], 6)];
      const opPeak = await profilePeak(() => tf.grads((x: tf.Tensor, dt: tf.Tensor, a: tf.Tensor, bm: tf.Tensor, cm: tf.Tensor, d: tf.Tensor) => {
        const out = fusedSsd({ x, dt, a, bm, cm, d });
        return tf.add(tf.sum(out.y), tf.sum(out.state));
      })(ins));
      tf.dispose(ins);
      const lEdN = l * h * p * n * 4; // bytes of one (L, ED, N) float32 tensor
      expect(opPeak).toBeLessThan(0.2 * lEdN); // measured 0.12
      expect(opPeak).toBeGreaterThan(3 * l * h * p * 4); // not vacuous: x, y, dx at least
    });
  }, 60_000);
});
