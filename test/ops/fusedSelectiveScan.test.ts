/**
 * Fused selective scan kernels (cpu and wasm) against an independent float64
 * sequential reference, itself checked by finite differences.
 *
 * Shapes: B batch, L length, ED inner channels, N state size.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedSelectiveScan, hasFusedScanKernel } from '../../src/ops/scan/fusedSelectiveScan';
import { registerScanKernels } from '../../src/ops/kernels/scan';
import { FUSED_SCAN_GRAD_KERNEL, FUSED_SCAN_KERNEL } from '../../src/ops/kernels/names';
import { fusedScanBackward, fusedScanForward } from '../../src/ops/kernels/js/scanMath';
import { expectAllClose, expectRelClose } from '../helpers/close';
import { logUniform, rng, uniformArray } from '../helpers/random';
import { ScanDims as Dims, ScanInputs } from '../helpers/scanCase';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

/** One random problem: float32 inputs plus the upstream gradient w. */
interface Case extends ScanInputs {
  w: Float32Array; // (B, L, ED) upstream dy
}

/**
 * Realistic random case: delta log-uniform in [1e-3, 0.1] (Mamba's dt init range)
 * with a few larger steps up to 1, A = -(1..N) perturbed by 10%, x/B/C/w in [-1, 1].
 */
function makeCase(dims: Dims, seed: number): Case {
  const { B, L, ED, N } = dims;
  const r = rng(seed);
  const uni = (n: number, lo: number, hi: number) => uniformArray(r, n, lo, hi);
  const delta = Float32Array.from({ length: B * L * ED }, () => (r() < 0.1 ? 0.1 + 0.9 * r() : logUniform(r, 1e-3, 0.1))); // (B, L, ED)
  const A = Float32Array.from({ length: ED * N }, (_, k) => -((k % N) + 1) * (0.9 + 0.2 * r())); // (ED, N)
  return {
    dims,
    x: uni(B * L * ED, -1, 1), // (B, L, ED)
    delta,
    A,
    Bm: uni(B * L * N, -1, 1), // (B, L, N)
    Cm: uni(B * L * N, -1, 1), // (B, L, N)
    D: uni(ED, 0.5, 1.5), // (ED)
    w: uni(B * L * ED, -1, 1), // (B, L, ED)
  };
}

/** Float64 inputs of the reference. */
interface Ref64 {
  x: Float64Array; delta: Float64Array; A: Float64Array; Bm: Float64Array; Cm: Float64Array; D: Float64Array;
}

/** Widens a case's inputs to float64. */
function toRef64(c: Case): Ref64 {
  return {
    x: Float64Array.from(c.x), delta: Float64Array.from(c.delta), A: Float64Array.from(c.A),
    Bm: Float64Array.from(c.Bm), Cm: Float64Array.from(c.Cm), D: Float64Array.from(c.D),
  };
}

/** Reference forward: textbook per-(b, e) sequential recurrence in float64. Returns y (B, L, ED). */
function refForward(p: Ref64, d: Dims): Float64Array {
  const { B, L, ED, N } = d;
  const y = new Float64Array(B * L * ED); // (B, L, ED)
  for (let b = 0; b < B; b++) {
    for (let e = 0; e < ED; e++) {
      const h = new Float64Array(N); // (N)
      for (let t = 0; t < L; t++) {
        const i = (b * L + t) * ED + e;
        let s = 0;
        for (let n = 0; n < N; n++) {
          const j = (b * L + t) * N + n;
          h[n] = Math.exp(p.delta[i] * p.A[e * N + n]) * h[n] + p.delta[i] * p.Bm[j] * p.x[i];
          s += h[n] * p.Cm[j];
        }
        y[i] = s + p.D[e] * p.x[i];
      }
    }
  }
  return y;
}

/** Reference gradients (float64) of sum(y * w). */
interface RefGrads {
  dx: Float64Array; ddelta: Float64Array; dA: Float64Array; dB: Float64Array; dC: Float64Array; dD: Float64Array;
}

/**
 * Reference backward: stores the full (L + 1, N) states per channel (small cases only)
 * and runs the textbook reverse scan g_t = w_t C_t + a_{t+1} g_{t+1}.
 */
function refBackward(p: Ref64, w: ArrayLike<number>, d: Dims): RefGrads {
  const { B, L, ED, N } = d;
  const g: RefGrads = {
    dx: new Float64Array(B * L * ED), ddelta: new Float64Array(B * L * ED), dA: new Float64Array(ED * N),
    dB: new Float64Array(B * L * N), dC: new Float64Array(B * L * N), dD: new Float64Array(ED),
  };
  for (let b = 0; b < B; b++) {
    for (let e = 0; e < ED; e++) {
      const hs: Float64Array[] = [new Float64Array(N)]; // hs[t + 1] = h_t, each (N)
      for (let t = 0; t < L; t++) {
        const i = (b * L + t) * ED + e;
        const h = new Float64Array(N); // (N)
        for (let n = 0; n < N; n++) {
          const j = (b * L + t) * N + n;
          h[n] = Math.exp(p.delta[i] * p.A[e * N + n]) * hs[t][n] + p.delta[i] * p.Bm[j] * p.x[i];
        }
        hs.push(h);
      }
      const gNext = new Float64Array(N); // (N) g_{t+1}
      const aNext = new Float64Array(N); // (N) a_{t+1}
      for (let t = L - 1; t >= 0; t--) {
        const i = (b * L + t) * ED + e;
        const dt = p.delta[i];
        let dx = w[i] * p.D[e];
        let dd = 0;
        for (let n = 0; n < N; n++) {
          const j = (b * L + t) * N + n;
          const a = Math.exp(dt * p.A[e * N + n]);
          const gt = w[i] * p.Cm[j] + aNext[n] * gNext[n];
          dx += gt * dt * p.Bm[j];
          dd += gt * (p.Bm[j] * p.x[i] + p.A[e * N + n] * a * hs[t][n]);
          g.dA[e * N + n] += gt * dt * a * hs[t][n];
          g.dB[j] += gt * dt * p.x[i];
          g.dC[j] += w[i] * hs[t + 1][n];
          gNext[n] = gt;
          aNext[n] = a;
        }
        g.dx[i] = dx;
        g.ddelta[i] = dd;
        g.dD[e] += w[i] * p.x[i];
      }
    }
  }
  return g;
}

/** sum(refForward(p) * w) in float64. */
function refLoss(p: Ref64, w: ArrayLike<number>, d: Dims): number {
  const y = refForward(p, d);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * w[i];
  return s;
}

/** Runs forward + tf.grads of sum(y * w) through fusedSelectiveScan on the active backend. */
function runTf(c: Case): { y: Float32Array; grads: Float32Array[] } {
  const { B, L, ED, N } = c.dims;
  return tf.tidy(() => {
    const x = tf.tensor3d(c.x, [B, L, ED]); // (B, L, ED)
    const delta = tf.tensor3d(c.delta, [B, L, ED]); // (B, L, ED)
    const A = tf.tensor2d(c.A, [ED, N]); // (ED, N)
    const Bm = tf.tensor3d(c.Bm, [B, L, N]); // (B, L, N)
    const Cm = tf.tensor3d(c.Cm, [B, L, N]); // (B, L, N)
    const D = tf.tensor1d(c.D); // (ED)
    const w = tf.tensor3d(c.w, [B, L, ED]); // (B, L, ED)
    const y = fusedSelectiveScan(x, delta, A, Bm, Cm, D); // (B, L, ED)
    const f = (...args: tf.Tensor[]) => {
      const [a0, a1, a2, a3, a4, a5] = args;
      return tf.sum(tf.mul(fusedSelectiveScan(a0, a1, a2, a3, a4, a5), w)); // ()
    };
    const grads = tf.grads(f)([x, delta, A, Bm, Cm, D]);
    return { y: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

const GRAD_NAMES = ['dx', 'ddelta', 'dA', 'dB', 'dC', 'dD'] as const;
const LENGTHS = [1, 2, 3, 37, 100];

/** The full kernel-vs-reference suite for the active backend. */
function kernelSuite(): void {
  test.each(LENGTHS)('forward and all six gradients match the float64 reference (L = %i)', (L) => {
    const c = makeCase({ B: 2, L, ED: 8, N: 16 }, 1000 + L);
    const p = toRef64(c);
    const yRef = refForward(p, c.dims);
    const gRef = refBackward(p, c.w, c.dims);
    const { y, grads } = runTf(c);
    expectRelClose(y, yRef, 1e-5, `y (L=${L})`);
    GRAD_NAMES.forEach((name, k) => expectRelClose(grads[k], gRef[name], 1e-5, `${name} (L=${L})`));
  });

  test('odd shapes: B 3, ED 5, N 1 and B 1, ED 1, N 7', () => {
    for (const [dims, seed] of [[{ B: 3, L: 11, ED: 5, N: 1 }, 7], [{ B: 1, L: 9, ED: 1, N: 7 }, 8]] as const) {
      const c = makeCase(dims, seed);
      const p = toRef64(c);
      const gRef = refBackward(p, c.w, c.dims);
      const { y, grads } = runTf(c);
      expectRelClose(y, refForward(p, c.dims), 1e-5, 'y');
      GRAD_NAMES.forEach((name, k) => expectRelClose(grads[k], gRef[name], 1e-5, name));
    }
  });

  test('tensor count is flat after forward + grads, also when only some inputs need grads', () => {
    const c = makeCase({ B: 2, L: 5, ED: 4, N: 3 }, 5);
    runTf(c); // warm-up (backend-side lazies)
    const before = tf.memory().numTensors;
    runTf(c);
    expect(tf.memory().numTensors).toBe(before);
    const x = tf.tensor3d(c.x, [2, 5, 4]); // (B, L, ED)
    const delta = tf.tensor3d(c.delta, [2, 5, 4]); // (B, L, ED)
    const A = tf.tensor2d(c.A, [4, 3]); // (ED, N)
    const Bm = tf.tensor3d(c.Bm, [2, 5, 3]); // (B, L, N)
    const Cm = tf.tensor3d(c.Cm, [2, 5, 3]); // (B, L, N)
    const D = tf.tensor1d(c.D); // (ED)
    const mid = tf.memory().numTensors;
    const dx = tf.grad((xx: tf.Tensor) => fusedSelectiveScan(xx, delta, A, Bm, Cm, D).sum())(x); // (B, L, ED)
    dx.dispose();
    expect(tf.memory().numTensors).toBe(mid);
    tf.dispose([x, delta, A, Bm, Cm, D]);
  });

  test('int32 inputs are cast to float32', () => {
    const y = tf.tidy(() => {
      const ones3 = tf.ones([1, 2, 2], 'int32'); // (B, L, ED)
      const onesN = tf.ones([1, 2, 1], 'int32'); // (B, L, N)
      return fusedSelectiveScan(ones3, ones3, tf.tensor2d([[-1], [-2]]), onesN, onesN, tf.zeros([2], 'int32'));
    }); // (B, L, ED)
    expect(y.dtype).toBe('float32');
    const e1 = Math.exp(-1);
    const e2 = Math.exp(-2);
    expectAllClose(y.dataSync(), [1, 1, 1 + e1, 1 + e2], 1e-6, 'y');
    y.dispose();
  });
}

describe('float64 reference', () => {
  test('reference backward equals central finite differences of the reference forward', () => {
    const dims = { B: 2, L: 6, ED: 3, N: 4 };
    const c = makeCase(dims, 42);
    const p = toRef64(c);
    const g = refBackward(p, c.w, dims);
    const eps = 1e-6;
    const fields: [keyof Ref64, keyof RefGrads][] = [
      ['x', 'dx'], ['delta', 'ddelta'], ['A', 'dA'], ['Bm', 'dB'], ['Cm', 'dC'], ['D', 'dD'],
    ];
    for (const [inp, grad] of fields) {
      const arr = p[inp];
      const fd = new Float64Array(arr.length); // same shape as the input
      for (let k = 0; k < arr.length; k++) {
        const v = arr[k];
        const h = eps * Math.max(1, Math.abs(v));
        arr[k] = v + h;
        const up = refLoss(p, c.w, dims);
        arr[k] = v - h;
        const dn = refLoss(p, c.w, dims);
        arr[k] = v;
        fd[k] = (up - dn) / (2 * h);
      }
      expectRelClose(g[grad], fd, 1e-6, `reference ${grad} vs finite differences`);
    }
  });

  test('fusedScanMath (no tf) matches the reference, with and without caller outputs', () => {
    const dims = { B: 2, L: 13, ED: 6, N: 5 };
    const c = makeCase(dims, 3);
    const p = toRef64(c);
    expectRelClose(fusedScanForward(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, dims), refForward(p, dims), 1e-6, 'y');
    const gRef = refBackward(p, c.w, dims);
    const out = { dx: new Float32Array(2 * 13 * 6).fill(NaN), dA: new Float32Array(30).fill(NaN) };
    const g = fusedScanBackward(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.w, dims, out);
    expect(g.dx).toBe(out.dx);
    expect(g.dA).toBe(out.dA);
    GRAD_NAMES.forEach((name) => expectRelClose(g[name], gRef[name], 1e-6, name));
  });

  test('fusedScanMath names expected vs got sizes', () => {
    const dims = { B: 1, L: 2, ED: 3, N: 4 };
    const c = makeCase(dims, 1);
    expect(() => fusedScanForward(c.x.subarray(1), c.delta, c.A, c.Bm, c.Cm, c.D, dims)).toThrow(
      'x must have 6 elements (B, L, ED) = (1, 2, 3), got 5',
    );
    expect(() => fusedScanForward(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, { ...dims, N: 1.5 })).toThrow('dims.N');
  });
});

describe('cpu backend', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  test('kernels are registered and registration is idempotent', () => {
    expect(hasFusedScanKernel('cpu')).toBe(true);
    expect(hasFusedScanKernel()).toBe(true);
    expect(hasFusedScanKernel('webgl')).toBe(false);
    expect(tf.getKernel(FUSED_SCAN_KERNEL, 'wasm')).toBeDefined();
    expect(tf.getKernel(FUSED_SCAN_GRAD_KERNEL, 'wasm')).toBeDefined();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    registerScanKernels();
    registerScanKernels();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  test('shape errors name expected vs got', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 5, 4]); // (B, L, ED)
      const A = tf.zeros([4, 3]); // (ED, N)
      const Bm = tf.zeros([2, 5, 3]); // (B, L, N)
      const D = tf.zeros([4]); // (ED)
      expect(() => fusedSelectiveScan(tf.zeros([5, 4]), x, A, Bm, Bm, D)).toThrow('x must be rank 3 (B, L, ED), got shape [5, 4]');
      expect(() => fusedSelectiveScan(x, tf.zeros([2, 5, 5]), A, Bm, Bm, D)).toThrow(
        'delta must have shape (B, L, ED) = [2, 5, 4], got [2, 5, 5]',
      );
      expect(() => fusedSelectiveScan(x, x, tf.zeros([3, 3]), Bm, Bm, D)).toThrow('A must have shape (ED, N) = [4, 3], got [3, 3]');
      expect(() => fusedSelectiveScan(x, x, A, tf.zeros([2, 4, 3]), Bm, D)).toThrow('B must have shape (B, L, N) = [2, 5, 3], got [2, 4, 3]');
      expect(() => fusedSelectiveScan(x, x, A, Bm, tf.zeros([2, 5, 2]), D)).toThrow('C must have shape (B, L, N) = [2, 5, 3], got [2, 5, 2]');
      expect(() => fusedSelectiveScan(x, x, A, Bm, Bm, tf.zeros([3]))).toThrow('D must have shape (ED) = [4], got [3]');
    });
  });

  kernelSuite();
});

describe('wasm backend', () => {
  beforeAll(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend('wasm');
    if (!ok || tf.getBackend() !== 'wasm') throw new Error(`wasm backend failed to initialize, got '${tf.getBackend()}'`);
  });

  test('the wasm backend is active and has the fused kernels', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(hasFusedScanKernel()).toBe(true);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  kernelSuite();

  test('UnsortedSegmentSum and the gradient of tf.gather match the cpu backend', async () => {
    const r = rng(99);
    const table = Float32Array.from({ length: 7 * 3 }, () => r() * 2 - 1); // (V, E) = (7, 3)
    const ids = [[0, 6, 2, 2], [5, 0, 0, 1]]; // (B, L)
    const up = Float32Array.from({ length: 2 * 4 * 3 }, () => r() * 2 - 1); // (B, L, E)
    const segX = Float32Array.from({ length: 4 * 2 * 3 }, () => r()); // (4, 2, 3)
    const segIds = [1, -1, 9, 1]; // (4) with out-of-range ids
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const T = tf.tensor2d(table, [7, 3]); // (V, E)
        const I = tf.tensor2d(ids, [2, 4], 'int32'); // (B, L)
        const U = tf.tensor3d(up, [2, 4, 3]); // (B, L, E)
        const dT = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, I), U)))(T); // (V, E)
        const seg = tf.unsortedSegmentSum(tf.tensor3d(segX, [4, 2, 3]), tf.tensor1d(segIds, 'int32'), 4); // (4, 2, 3)
        const segInt = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([2, 2, 0], 'int32'), 3); // (3)
        return [dT.dataSync(), seg.dataSync(), segInt.dataSync()];
      });
    };
    const onCpu = await run('cpu');
    const onWasm = await run('wasm');
    expectAllClose(onWasm[0], onCpu[0], 1e-6, 'gather grad');
    expectAllClose(onWasm[1], onCpu[1], 1e-6, 'unsortedSegmentSum');
    expect(Array.from(onWasm[2])).toEqual([3, 0, 3]);
    expect(Array.from(onCpu[2])).toEqual([3, 0, 3]);
  });
});
