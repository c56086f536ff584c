/**
 * The O(size) UnsortedSegmentSum kernels (cpu replaces the built-in; wasm fills
 * the gap) against an independent JS reference, through tf.unsortedSegmentSum and
 * through tf.gather's gradient.
 *
 * Shapes: S segments, K ids, I inner size, V vocabulary rows, E row width.
 */
import * as tf from '@tensorflow/tfjs';
import { registerSegmentSumKernels, SEGMENT_SUM_KERNEL } from '../../src/ops/kernels/segmentSum';
import { expectAllClose } from '../helpers/close';
import { rng } from '../helpers/random';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

/**
 * Reference segment sum written independently of the kernel: walks the output
 * segment by segment and scans every id (O(S * K * I)), float64 accumulation.
 *
 * @param x   (K * I)
 * @param ids (K)
 * @returns   (S * I)
 */
function refSegmentSum(x: ArrayLike<number>, ids: ArrayLike<number>, S: number, I: number): Float64Array {
  const out = new Float64Array(S * I); // (S, I)
  for (let s = 0; s < S; s++) {
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] !== s) continue;
      for (let j = 0; j < I; j++) out[s * I + j] += x[k * I + j];
    }
  }
  return out;
}

/** Random ids in [lo, hi) (some may lie outside [0, S) on purpose). */
function randIds(r: () => number, K: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: K }, () => lo + Math.floor(r() * (hi - lo))); // (K)
}

/** Runs `fn` on `backend`, then restores the previous backend. */
async function onBackend<T>(backend: string, fn: () => Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return await fn();
  } finally {
    await tf.setBackend(prev);
  }
}

/** The checks shared by both backends. */
function suite(backend: string): void {
  test(`${backend}: 1-D ids, 2-D x, out-of-range ids dropped`, async () => {
    await onBackend(backend, async () => {
      const r = rng(1);
      const [K, I, S] = [200, 5, 17];
      const x = Float32Array.from({ length: K * I }, () => r() * 2 - 1); // (K, I)
      const ids = randIds(r, K, -3, S + 3); // (K) includes -3..-1 and S..S+2
      const out = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x, [K, I]), tf.tensor1d(ids, 'int32'), S)); // (S, I)
      expect(out.shape).toEqual([S, I]);
      expectAllClose(await out.data(), refSegmentSum(x, ids, S, I), 1e-5, 'segment sum');
      out.dispose();
    });
  });

  test(`${backend}: multi-dim ids are a prefix of x's shape`, async () => {
    await onBackend(backend, async () => {
      const r = rng(2);
      const [K0, K1, I0, I1, S] = [4, 6, 3, 2, 9];
      const x = Float32Array.from({ length: K0 * K1 * I0 * I1 }, () => r() * 2 - 1); // (K0, K1, I0, I1)
      const ids = randIds(r, K0 * K1, -1, S + 1); // (K0, K1)
      // The op's typing wants 1-D ids; the kernel accepts any prefix, so call it directly.
      const out = tf.tidy(() =>
        tf.engine().runKernel<tf.Tensor>(
          SEGMENT_SUM_KERNEL,
          { x: tf.tensor4d(x, [K0, K1, I0, I1]), segmentIds: tf.tensor2d(ids, [K0, K1], 'int32') },
          { numSegments: S },
        ),
      ); // (S, I0, I1)
      expect(out.shape).toEqual([S, I0, I1]);
      expectAllClose(await out.data(), refSegmentSum(x, ids, S, I0 * I1), 1e-5, 'segment sum');
      out.dispose();
    });
  });

  test(`${backend}: int32 x stays int32`, async () => {
    await onBackend(backend, async () => {
      const out = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], 'int32'), tf.tensor1d([2, 2, 0, 7], 'int32'), 3));
      expect(out.dtype).toBe('int32');
      expect(Array.from(await out.data())).toEqual([3, 0, 3]);
      out.dispose();
    });
  });

  test(`${backend}: gradient of tf.gather equals a scatter-add reference`, async () => {
    await onBackend(backend, async () => {
      const r = rng(3);
      const [V, E, K] = [50, 4, 300];
      const T = Float32Array.from({ length: V * E }, () => r()); // (V, E)
      const idx = randIds(r, K, 0, V); // (K)
      const U = Float32Array.from({ length: K * E }, () => r() * 2 - 1); // (K, E) upstream weights
      const g = tf.tidy(() => {
        const u = tf.tensor2d(U, [K, E]);
        const ix = tf.tensor1d(idx, 'int32');
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ix), u)))(tf.tensor2d(T, [V, E])); // (V, E)
      });
      const ref = new Float64Array(V * E); // (V, E)
      for (let k = 0; k < K; k++) for (let j = 0; j < E; j++) ref[idx[k] * E + j] += U[k * E + j];
      expectAllClose(await g.data(), ref, 1e-5, 'gather grad');
      g.dispose();
    });
  });

  test(`${backend}: rejects ids that are not a prefix of x's shape`, async () => {
    await onBackend(backend, async () => {
      expect(() =>
        tf.tidy(() =>
          tf.engine().runKernel(
            SEGMENT_SUM_KERNEL,
            { x: tf.zeros([3, 2]), segmentIds: tf.zeros([2], 'int32') },
            { numSegments: 2 },
          ),
        ),
      ).toThrow(/must be a prefix of x shape/);
    });
  });
}

describe('registration', () => {
  test('registers on cpu and wasm, idempotently', () => {
    const before = tf.getKernel(SEGMENT_SUM_KERNEL, 'cpu')?.kernelFunc;
    registerSegmentSumKernels();
    registerSegmentSumKernels();
    expect(tf.getKernel(SEGMENT_SUM_KERNEL, 'cpu')?.kernelFunc).toBe(before);
    expect(tf.getKernel(SEGMENT_SUM_KERNEL, 'wasm')).toBeDefined();
  });
});

describe('cpu', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  suite('cpu');

  test('cpu: gather gradient with 100k segments takes under 1 s', async () => {
    await onBackend('cpu', async () => {
      const r = rng(4);
      const [V, K] = [100_000, 4096]; // V segments (a flat (B*L*V) logit tensor), K gathered entries
      const idx = randIds(r, K, 0, V); // (K)
      const ix = tf.tensor1d(idx, 'int32');
      const t = tf.randomUniform([V]); // (V)
      const f = (x: tf.Tensor): tf.Scalar => tf.sum(tf.gather(x, ix));
      const warm = tf.tidy(() => tf.grad(f)(t));
      warm.dispose();
      const t0 = performance.now();
      const g = tf.tidy(() => tf.grad(f)(t)); // (V)
      const data = await g.data();
      const ms = performance.now() - t0;
      let total = 0;
      for (let i = 0; i < data.length; i++) total += data[i];
      expect(total).toBeCloseTo(K, 1);
      expect(ms).toBeLessThan(1000);
      tf.dispose([g, ix, t]);
    });
  });
});

describe('wasm', () => {
  beforeAll(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error(`wasm backend failed to initialize, got '${tf.getBackend()}'`);
    await tf.setBackend('cpu');
  });
  suite('wasm');
});
