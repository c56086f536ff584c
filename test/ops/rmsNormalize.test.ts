/**
 * The RMS normalization kernels of src/ops/kernels/rmsNormalize.ts (MambaRmsNormalize and MambaRmsNormalizeGrad on
 * 'cpu' and 'wasm'): the in-heap SIMD rows (asm/rmsNorm.ts) and the JS loops (cpu; wasm with MAMBA_TFJS_SCAN_IMPL=js)
 * against a float64 reference written from the definitions, on a last axis that is and is not a multiple of 4 and
 * rows of every scale; the gradient through tf.grad equals the reference's; bad shapes throw one line; no leaks.
 *
 * Shapes: M rows, D the normalized axis.
 */
import * as tf from '@tensorflow/tfjs';
import { rmsNormalize, rmsNormalizeGrad } from '../../src/ops/norm/rms';
import { RMS_NORMALIZE_GRAD_KERNEL, RMS_NORMALIZE_KERNEL } from '../../src/ops/kernels/names';
import { SCAN_IMPL_FLAG } from '../../src/flags';
import { int8Wasm, wasmHeapMemory } from '../../src/ops/kernels/simd/int8';
import { onBackend, useScanWasmSuite } from '../helpers/backends';
import { setEnvFlag } from '../helpers/flags';
import { rng, uniformArray } from '../helpers/random';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner
useScanWasmSuite();

const EPS = 1e-5;

/** float64 y = x · r and dx = r · (dy − y · mean(dy · y)) of x, dy (M, D). */
function reference(x: Float32Array, dy: Float32Array, d: number): { y: number[]; dx: number[] } {
  const y: number[] = [];
  const dx: number[] = [];
  for (let m = 0; m < x.length / d; m++) {
    const row = Array.from(x.subarray(m * d, (m + 1) * d));
    const g = Array.from(dy.subarray(m * d, (m + 1) * d));
    const r = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / d + Math.fround(EPS));
    const yr = row.map((v) => v * r);
    const mean = yr.reduce((s, v, k) => s + v * g[k], 0) / d;
    y.push(...yr);
    dx.push(...yr.map((v, k) => r * (g[k] - v * mean)));
  }
  return { y, dx };
}

/** Largest |got − want| / (|want| + floor). */
function worstRel(got: ArrayLike<number>, want: number[], floor: number): number {
  let w = 0;
  for (let i = 0; i < want.length; i++) w = Math.max(w, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + floor));
  return w;
}

/** x (M, D): rows scaled by 1e-3 … 1e3, so that r spans six orders; dy uniform. */
function makeCase(m: number, d: number, seed: number): { x: Float32Array; dy: Float32Array } {
  const r = rng(seed);
  const x = uniformArray(r, m * d, -1, 1);
  for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) x[i * d + k] *= 10 ** (-3 + (6 * i) / Math.max(1, m - 1));
  return { x, dy: uniformArray(r, m * d, -1, 1) };
}

for (const backend of ['cpu', 'wasm']) {
  for (const impl of backend === 'wasm' ? ['simd', 'js'] : ['js']) {
    describe(`${backend}${backend === 'wasm' ? ` (${impl})` : ''}`, () => {
      beforeAll(() => setEnvFlag(SCAN_IMPL_FLAG, impl === 'js' ? 'js' : undefined));
      afterAll(() => setEnvFlag(SCAN_IMPL_FLAG, undefined));

      test.each([[7, 37], [5, 64], [1, 3], [64, 768]])('M %i, D %i: forward (1e-6) and gradient (1e-5 of its scale) equal float64', async (m, d) => {
        await onBackend(backend, () => {
          const { x, dy } = makeCase(m, d, m * 1000 + d);
          const ref = reference(x, dy, d);
          const before = tf.memory().numTensors;
          const xt = tf.tensor2d(x, [m, d]);
          const dyt = tf.tensor2d(dy, [m, d]);
          const yt = rmsNormalize(xt, EPS);
          const dxt = rmsNormalizeGrad(xt, EPS, dyt);
          const [y, dx] = [yt.dataSync(), dxt.dataSync()];
          tf.dispose([xt, dyt, yt, dxt]);
          expect(tf.getKernel(RMS_NORMALIZE_KERNEL, backend)).toBeDefined();
          if (backend === 'wasm') expect(int8Wasm(wasmHeapMemory(tf.backend()) as WebAssembly.Memory) != null).toBe(impl === 'simd'); // the in-heap rows ran
          expect(worstRel(y, ref.y, 1e-30)).toBeLessThan(1e-6);
          // dx subtracts two terms of the row's scale: bounded relative to r · max|dy| of the row, here ≥ 1e-3.
          expect(worstRel(dx, ref.dx, 1e-3 * Math.max(...ref.dx.map(Math.abs)))).toBeLessThan(1e-5);
          expect(tf.memory().numTensors).toBe(before);
        });
      });

      test('the gradient of rmsNormalize through tf.grad runs MambaRmsNormalizeGrad and equals float64', async () => {
        await onBackend(backend, async () => {
          const [m, d] = [3, 10];
          const { x, dy } = makeCase(m, d, 3);
          const ref = reference(x, dy, d);
          const profile = await tf.profile(() => {
            const g = tf.grad((xt: tf.Tensor) => tf.sum(tf.mul(rmsNormalize(xt, EPS), tf.tensor2d(dy, [m, d]))))(tf.tensor2d(x, [m, d]));
            const out = g.dataSync();
            expect(worstRel(out, ref.dx, 1e-3 * Math.max(...ref.dx.map(Math.abs)))).toBeLessThan(1e-5);
            return g;
          });
          tf.dispose(profile.result);
          expect(profile.kernelNames).toContain(RMS_NORMALIZE_GRAD_KERNEL);
        });
      });

      test('shapes: a rank-3 x keeps its shape; an empty last axis or a dy of another shape throws one line', async () => {
        await onBackend(backend, () => {
          tf.tidy(() => {
            expect(rmsNormalize(tf.ones([2, 3, 5]), EPS).shape).toEqual([2, 3, 5]);
            expect(() => rmsNormalize(tf.ones([2, 0]), EPS)).toThrow(/MambaRmsNormalize: expected x with a non-empty last axis, got \[2,0\]/);
            expect(() => rmsNormalizeGrad(tf.ones([2, 3]), EPS, tf.ones([3, 2]))).toThrow(/MambaRmsNormalizeGrad: expected dy of x's shape \[2,3\], got \[3,2\]/);
          });
        });
      });
    });
  }
}
