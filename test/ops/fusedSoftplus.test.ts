/**
 * The softplus kernel of src/ops/fusedSoftplus.ts ('MambaSoftplus' on the 'cpu' and 'wasm' backends): its
 * SIMD path (asm/softplus.ts in dist/ops/scan.wasm) and its JS fallback (MAMBA_TFJS_SCAN_IMPL=js, toggled at
 * run time) against log(1 + exp(x)) computed stably in float64, over a dense grid of [-100, 100] and special
 * values (±0, ±tiny, ±Infinity, NaN, the float32 exp under/overflow edges); every length's scalar tail;
 * the op `softplus` on both backends (shapes, int32 input, empty tensors); its gradient dy · sigmoid(x);
 * the fallback to tf.softplus on a backend without the kernel; and no leaked tensors.
 *
 * Accuracy bound: relative error ≤ 1e-6 where softplus(x) ≥ 1e-30, absolute ≤ 1e-37 below (where float32
 * results are subnormal or flush to 0). Non-finite results must match exactly (NaN → NaN, ±Inf → Inf / 0).
 *
 * Needs dist/ops/scan.wasm (`npm run build`).
 */
import * as tf from '@tensorflow/tfjs';
import { softplus } from '../../src/ops/activations/softplus';
import { registerSoftplusKernels } from '../../src/ops/kernels/softplus';
import { softplusInto } from '../../src/ops/kernels/simd/softplus';
import { SOFTPLUS_KERNEL } from '../../src/ops/kernels/names';
import { scanKernelImpl } from '../../src/ops/kernels/simd/scan';
import { SCAN_IMPL_FLAG } from '../../src/flags';
import { expectRelClose } from '../helpers/close';
import { onBackend, useScanWasmSuite } from '../helpers/backends';
import { rng, uniformArray } from '../helpers/random';
import { setEnvFlag } from '../helpers/flags';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

const REL = 1e-6; // where softplus(x) >= TINY
const TINY = 1e-30;
const ABS = 1e-37; // where softplus(x) < TINY

/** softplus in float64, without overflow: max(x, 0) + log1p(exp(-|x|)). NaN → NaN, ±Inf → Inf / 0. */
function refSoftplus(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x === -Infinity) return 0;
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** 1 / (1 + exp(-x)) in float64. */
const refSigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Special inputs: zeros, the smallest subnormals, huge, infinite, NaN, and the float32 exp edges. */
const SPECIALS = [
  0, -0, 1e-45, -1e-45, 1e-38, -1e-38, 1e-30, -1e-30, 1e-7, -1e-7, Infinity, -Infinity, NaN,
  -87.4, 88.8, 20, -20, -88.8, 87.4, -103, -104, 15.9, 16.1, -16.6, 1, -1, 3.4e38, -3.4e38, 100, -100,
];

/** Float32 values: the specials, then a dense grid of [-100, 100] (step 5e-4). */
function gridInputs(): Float32Array {
  const n = 400_001;
  const x = new Float32Array(SPECIALS.length + n); // (S + n)
  x.set(SPECIALS);
  for (let i = 0; i < n; i++) x[SPECIALS.length + i] = -100 + (200 * i) / (n - 1);
  return x;
}

/**
 * Throws (naming the worst input) unless every y[i] meets the bound against refSoftplus(x[i]).
 * Returns the worst relative and absolute errors seen.
 */
function expectSoftplusAccurate(x: ArrayLike<number>, y: ArrayLike<number>, what: string): { rel: number; abs: number } {
  expect(y.length).toBe(x.length);
  let rel = 0;
  let abs = 0;
  for (let i = 0; i < x.length; i++) {
    const r = refSoftplus(x[i]);
    const got = y[i];
    if (!Number.isFinite(r)) {
      if (!(Object.is(got, r) || (Number.isNaN(r) && Number.isNaN(got)))) {
        throw new Error(`${what}: softplus(${x[i]}) = ${got}, expected ${r}`);
      }
      continue;
    }
    if (r >= TINY) {
      const e = Math.abs(got - r) / r;
      if (!(e <= REL)) throw new Error(`${what}: softplus(${x[i]}) = ${got}, expected ${r} (relative error ${e} > ${REL})`);
      rel = Math.max(rel, e);
    } else {
      const e = Math.abs(got - r);
      if (!(e <= ABS)) throw new Error(`${what}: softplus(${x[i]}) = ${got}, expected ${r} (absolute error ${e} > ${ABS})`);
      abs = Math.max(abs, e);
    }
  }
  return { rel, abs };
}

/** Runs `fn` with MAMBA_TFJS_SCAN_IMPL=js, restoring the variable after (async-safe). */
async function withJsImpl<T>(fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env[SCAN_IMPL_FLAG];
  setEnvFlag(SCAN_IMPL_FLAG, 'js');
  try {
    return await fn();
  } finally {
    if (saved === undefined) setEnvFlag(SCAN_IMPL_FLAG, undefined);
    else setEnvFlag(SCAN_IMPL_FLAG, saved);
  }
}


/** softplusInto over `x` into a fresh output prefilled with garbage (every element must be written). */
function runInto(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length).fill(-7); // (n)
  softplusInto(x, y);
  return y;
}

/** The op softplus on a tensor of `shape` holding `data`: values and the kernels it ran. */
async function runOp(data: Float32Array, shape: number[]): Promise<{ y: Float32Array; shape: number[]; dtype: string; kernels: string[] }> {
  let out: tf.Tensor | null = null;
  const info = await tf.profile(() => {
    out = tf.tidy(() => softplus(tf.tensor(data, shape, 'float32'))); // (shape)
  });
  const y = out as unknown as tf.Tensor; // (shape)
  const res = { y: (await y.data()) as Float32Array, shape: y.shape.slice(), dtype: y.dtype, kernels: info.kernels.map((k) => k.name) };
  y.dispose();
  return res;
}


useScanWasmSuite();

describe('registration', () => {
  test('the kernel is registered on cpu and wasm with a gradient, nowhere else; registering again changes nothing', () => {
    const before = ['cpu', 'wasm'].map((be) => tf.getKernel(SOFTPLUS_KERNEL, be)?.kernelFunc);
    expect(before.every((k) => typeof k === 'function')).toBe(true);
    expect(tf.getKernel(SOFTPLUS_KERNEL, 'webgpu')).toBeUndefined();
    expect(tf.getGradient(SOFTPLUS_KERNEL)).toBeDefined();
    registerSoftplusKernels();
    registerSoftplusKernels();
    expect(['cpu', 'wasm'].map((be) => tf.getKernel(SOFTPLUS_KERNEL, be)?.kernelFunc)).toEqual(before);
    expect(tf.getKernelsForBackend('cpu').filter((k) => k.kernelName === SOFTPLUS_KERNEL)).toHaveLength(1);
  });
});

describe('softplusInto: SIMD and JS paths against float64', () => {
  const x = gridInputs(); // (S + n)

  test('the accuracy check itself rejects a 2e-6 relative error, a 1e-36 error below 1e-30, and wrong specials', () => {
    const xs = Float32Array.from([-1, 5, -80, NaN, -Infinity]); // (5)
    const good = Array.from(xs, refSoftplus);
    expect(() => expectSoftplusAccurate(xs, good, 'exact')).not.toThrow();
    const bad = (i: number, v: number): number[] => good.map((g, j) => (j === i ? v : g));
    expect(() => expectSoftplusAccurate(xs, bad(0, good[0] * (1 + 2e-6)), 'relative')).toThrow(/relative error/);
    expect(() => expectSoftplusAccurate(xs, bad(2, good[2] + 1e-36), 'absolute')).toThrow(/absolute error/);
    expect(() => expectSoftplusAccurate(xs, bad(3, 0), 'NaN')).toThrow(/expected NaN/);
    expect(() => expectSoftplusAccurate(xs, bad(4, NaN), '-Infinity')).toThrow(/expected 0/);
  });

  test('scan.wasm is active, and MAMBA_TFJS_SCAN_IMPL=js switches to JS at run time', async () => {
    expect(scanKernelImpl()).toBe('wasm-simd');
    await withJsImpl(() => expect(scanKernelImpl()).toBe('js'));
    expect(scanKernelImpl()).toBe('wasm-simd');
  });

  test('SIMD: dense grid of [-100, 100] and special values within the bound', () => {
    const err = expectSoftplusAccurate(x, runInto(x), 'SIMD');
    expect(err.rel).toBeLessThan(REL);
    const y = runInto(Float32Array.from([NaN, Infinity, -Infinity, 0, -0, 1e-45, 88.8, -20])); // (8)
    expect(Number.isNaN(y[0])).toBe(true);
    expect(y[1]).toBe(Infinity);
    expect(y[2]).toBe(0);
    expect(y[3]).toBe(Math.fround(Math.LN2));
    expect(y[4]).toBe(Math.fround(Math.LN2));
    expect(y[5]).toBe(Math.fround(Math.LN2));
    expect(y[6]).toBe(Math.fround(88.8)); // exp(-88.8) vanishes next to 88.8 in float32
    expectRelClose([y[7]], [Math.exp(-20)], 1e-6, 'softplus(-20) = e^-20');
  });

  test('JS fallback: the same grid and special values within the bound', async () => {
    const y = await withJsImpl(() => runInto(x));
    const err = expectSoftplusAccurate(x, y, 'JS');
    expect(err.rel).toBeLessThan(1e-7); // float64 arithmetic rounded once to float32
  });

  test('SIMD and JS agree to the bound on random inputs of every magnitude', async () => {
    const r = rng(11);
    const xs = Float32Array.from({ length: 50_000 }, () => (r() - 0.5) * 2 * Math.exp(8 * (r() - 0.3))); // (n) |x| up to ~e^5.6
    const simd = runInto(xs);
    const js = await withJsImpl(() => runInto(xs));
    for (let i = 0; i < xs.length; i++) {
      const scale = Math.max(Math.abs(js[i]), TINY);
      if (!(Math.abs(simd[i] - js[i]) <= 2 * REL * scale)) throw new Error(`softplus(${xs[i]}): SIMD ${simd[i]} vs JS ${js[i]}`);
    }
    expectSoftplusAccurate(xs, simd, 'SIMD random');
  });

  test.each([0, 1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025])('length %i: every element (vector body and scalar tail) is right, SIMD and JS', async (n) => {
    // Distinct values at each position, with specials placed in the tail.
    const r = rng(100 + n);
    const xs = uniformArray(r, n, -30, 30); // (n)
    if (n >= 1) xs[n - 1] = -87.4;
    if (n >= 2) xs[n - 2] = Infinity;
    if (n >= 3) xs[n - 3] = NaN;
    expectSoftplusAccurate(xs, runInto(xs), `SIMD length ${n}`);
    expectSoftplusAccurate(xs, await withJsImpl(() => runInto(xs)), `JS length ${n}`);
  });

  test('a large call then small ones: no stale values from the module memory', () => {
    const r = rng(5);
    for (const n of [100_000, 5, 1, 3, 100_001, 6]) {
      const xs = uniformArray(r, n, -50, 50); // (n)
      expectSoftplusAccurate(xs, runInto(xs), `SIMD length ${n}`);
    }
  });
});

/** Op-level checks shared by both backends. */
function opSuite(backend: string): void {
  test(`${backend}: softplus runs the kernel, keeps the shape, and is accurate (SIMD and JS through the kernel)`, async () => {
    await onBackend(backend, async () => {
      const r = rng(backend.length);
      const grid = gridInputs().subarray(0, 20_000 + SPECIALS.length); // specials and the grid up to -90
      for (const shape of [[], [1], [7], [3, 5], [2, 3, 171], [SPECIALS.length + 20_000]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = n === grid.length ? Float32Array.from(grid) : uniformArray(r, n, -40, 40); // (shape)
        const simd = await runOp(data, shape);
        expect(simd.shape).toEqual(shape);
        expect(simd.dtype).toBe('float32');
        expect(simd.kernels).toContain(SOFTPLUS_KERNEL);
        expect(simd.kernels).not.toContain('Softplus');
        expectSoftplusAccurate(data, simd.y, `${backend} [${shape}] SIMD`);
        const js = await withJsImpl(() => runOp(data, shape));
        expectSoftplusAccurate(data, js.y, `${backend} [${shape}] JS`);
      }
    });
  });

  test(`${backend}: int32 input is cast to float32; empty tensors keep their shape`, async () => {
    await onBackend(backend, async () => {
      const y = tf.tidy(() => softplus(tf.tensor2d([1, -2, 0, 30], [2, 2], 'int32'))); // (2, 2)
      expect(y.dtype).toBe('float32');
      expectSoftplusAccurate([1, -2, 0, 30], (await y.data()) as Float32Array, 'int32 input');
      y.dispose();
      for (const shape of [[0], [2, 0], [0, 3, 4]]) {
        const e = tf.tidy(() => softplus(tf.zeros(shape))); // (shape)
        expect(e.shape).toEqual(shape);
        expect((await e.data()).length).toBe(0);
        e.dispose();
      }
    });
  });

  test(`${backend}: the gradient through tf.grads is dy · sigmoid(x) (float64 reference) and equals tf.softplus's`, async () => {
    await onBackend(backend, async () => {
      const r = rng(40 + backend.length);
      const n = 3 * 257;
      const xs = uniformArray(r, n, -25, 25); // (3, 257)
      xs.set([0, -100, 100, 1e-30, -87.4, 88.8, 20, -20]);
      const dys = uniformArray(r, n, -2, 2); // (3, 257)
      const [g, gRef] = tf.tidy(() => {
        const x = tf.tensor2d(xs, [3, 257]); // (3, 257)
        const dy = tf.tensor2d(dys, [3, 257]); // (3, 257)
        return [
          tf.grads((a: tf.Tensor) => tf.sum(tf.mul(softplus(a), dy)))([x])[0], // (3, 257)
          tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.softplus(a), dy)))([x])[0], // (3, 257)
        ];
      });
      expect(g.shape).toEqual([3, 257]);
      const got = (await g.data()) as Float32Array;
      const want = Array.from(xs, (v, i) => dys[i] * refSigmoid(v));
      expectRelClose(got, want, 1e-6, 'dy · sigmoid(x)');
      for (let i = 0; i < n; i++) {
        if (!(Math.abs(got[i] - want[i]) <= 1e-6 * Math.abs(want[i]) + 1e-37)) throw new Error(`grad at x = ${xs[i]}: ${got[i]} vs ${want[i]}`);
      }
      expectRelClose(got, (await gRef.data()) as Float32Array, 1e-6, 'vs tf.softplus gradient');
      tf.dispose([g, gRef]);
    });
  });

  test(`${backend}: no leaked tensors over forward and backward`, async () => {
    await onBackend(backend, async () => {
      const x = tf.randomUniform([4, 33], -10, 10, 'float32', 3); // (4, 33)
      const round = (): void => {
        const y = softplus(x); // (4, 33)
        const [g] = tf.grads((a: tf.Tensor) => tf.sum(softplus(a)))([x]); // (4, 33)
        y.dataSync();
        tf.dispose([y, g]);
      };
      round();
      const before = tf.memory();
      for (let i = 0; i < 5; i++) round();
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
      x.dispose();
    });
  });
}

describe('the op on cpu', () => opSuite('cpu'));
describe('the op on wasm', () => opSuite('wasm'));

describe('fallback without the kernel', () => {
  test.each(['cpu', 'wasm'])('%s: with MambaSoftplus unregistered, softplus is tf.softplus (values, gradient); re-registering restores it', async (backend) => {
    await onBackend(backend, async () => {
      const kernel = tf.getKernel(SOFTPLUS_KERNEL, backend);
      expect(kernel).toBeDefined();
      const r = rng(77);
      const data = uniformArray(r, 130, -30, 30); // (130)
      tf.unregisterKernel(SOFTPLUS_KERNEL, backend);
      try {
        expect(tf.getKernel(SOFTPLUS_KERNEL, backend)).toBeUndefined();
        const before = tf.memory().numTensors;
        const res = await runOp(data, [130]);
        expect(res.kernels).toContain('Softplus');
        expect(res.kernels).not.toContain(SOFTPLUS_KERNEL);
        const want = tf.tidy(() => tf.softplus(tf.tensor1d(data))); // (130)
        expect(Array.from(res.y)).toEqual(Array.from(await want.data()));
        const [g] = tf.tidy(() => tf.grads((a: tf.Tensor) => tf.sum(softplus(a)))([tf.tensor1d(data)])); // (130)
        expectRelClose((await g.data()) as Float32Array, Array.from(data, refSigmoid), 1e-6, 'fallback gradient');
        tf.dispose([want, g]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        registerSoftplusKernels();
      }
      expect(tf.getKernel(SOFTPLUS_KERNEL, backend)?.kernelFunc).toBe(kernel?.kernelFunc);
      expect((await runOp(data, [130])).kernels).toContain(SOFTPLUS_KERNEL);
    });
  });
});
