/**
 * The gate kernels of src/ops/kernels/gates.ts (MambaSilu, MambaSiluMul, MambaSigmoidMul, MambaSiluGrad,
 * MambaGateGrad on 'cpu' and 'wasm'): the SIMD path (asm/gates.ts) and the JS fallback (MAMBA_TFJS_SCAN_IMPL=js)
 * against float64 references over a dense grid of [-100, 100], random values of every magnitude and special values
 * (±0, subnormal, ±large, ±Infinity, NaN), every scalar tail; the worker pool's results equal the single thread's
 * bit for bit; the fused gateGrad equals the three single kernels bit for bit; the ops of
 * src/ops/activations/silu.ts on both backends (kernels run, shapes, fallbacks); gradients of silu and siluMul
 * through tf.grads against float64 and the tf-ops composite; no leaked tensors.
 *
 * Bounds: products of σ (silu, siluMul, sigmoidMul, gate outputs g, dy) within 1e-6 relative where the result is at
 * least 1e-30 in magnitude, 1e-35 absolute below (σ flushes to 0 below x ≈ −88). silu' has a zero near x = −1.28
 * where its terms cancel: its error is bounded by 1e-6 × |dy| σ (1 + |x| (1 − σ)), the size of those terms.
 */
import * as tf from '@tensorflow/tfjs';
import { gateGrad, sigmoidMul, silu, siluGrad, siluMul } from '../../src/ops/activations/silu';
import { registerGateKernels } from '../../src/ops/kernels/gates';
import { gateGradInto, sigmoidMulInto, siluGradInto, siluInto, siluMulInto } from '../../src/ops/kernels/simd/gates';
import { GATE_GRAD_KERNEL, SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from '../../src/ops/kernels/names';
import { simdThreadPool } from '../../src/ops/kernels/simd/pool';
import { SCAN_IMPL_FLAG, THREADS_FLAG } from '../../src/flags';
import { onBackend, useScanWasmSuite } from '../helpers/backends';
import { setEnvFlag } from '../helpers/flags';
import { rng, uniformArray } from '../helpers/random';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

const KERNELS = [SILU_KERNEL, SILU_MUL_KERNEL, SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, GATE_GRAD_KERNEL];

// float64 references, written from the definitions (limits at ±Infinity).
const sig = (x: number): number => 1 / (1 + Math.exp(-x)); // exp(±∞) gives the limits 0 and 1
const refSilu = (x: number): number => (x === -Infinity ? -0 : x * sig(x));
const refDsilu = (x: number): number => (x === -Infinity ? 0 : x === Infinity ? 1 : sig(x) * (1 + x * sig(-x)));
/** The size of silu'(x)'s terms, σ(x)(1 + |x|(1 − σ(x))): the scale of its rounding errors. */
const dsiluScale = (x: number): number => (Number.isFinite(x) ? sig(x) * (1 + Math.abs(x) * sig(-x)) : 1);

/** Throws naming the first i where got[i] misses want[i] by more than rel · scale[i] (+ 1e-35), or non-finite values (want rounded to float32) differ. */
function expectNear(got: Float32Array, want: number[], scale: number[], what: string, rel = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = Math.fround(want[i]); // a float64 value past FLT_MAX is an infinite float32
    if (!Number.isFinite(w)) {
      if (!(Object.is(got[i], w) || (Number.isNaN(w) && Number.isNaN(got[i])))) throw new Error(`${what}[${i}] = ${got[i]}, expected ${w}`);
      continue;
    }
    const s = Math.abs(scale[i]) >= 1e-30 ? Math.abs(scale[i]) : 0;
    const e = Math.abs(got[i] - w);
    if (!(e <= rel * s + 1e-35)) throw new Error(`${what}[${i}] = ${got[i]}, expected ${w} (error ${e}, bound ${rel * s + 1e-35})`);
    if (s > 0) worst = Math.max(worst, e / s);
  }
  return worst;
}

const SPECIALS = [
  0, -0, 1e-45, -1e-45, 1e-30, -1e-30, 1, -1, -1.2785, 10, -10, 17, 20, -20, 87.3, -87.3, 88.4, -88.4, 88.8, -88.8,
  100, -100, 1e10, -1e10, 3.4e38, -3.4e38, Infinity, -Infinity, NaN,
];

/** Inputs: the specials, a dense grid of [-100, 100], and random values of every magnitude; a length with a tail. */
function inputs(seed: number): { x: Float32Array; g: Float32Array; y: Float32Array } {
  const r = rng(seed);
  const grid = 40_001; // step 5e-3
  const n = SPECIALS.length + grid + 10_000 + 3;
  const x = new Float32Array(n); // (n)
  x.set(SPECIALS);
  for (let i = 0; i < grid; i++) x[SPECIALS.length + i] = -100 + (200 * i) / (grid - 1);
  for (let i = SPECIALS.length + grid; i < n; i++) x[i] = (r() - 0.5) * Math.exp(12 * (r() - 0.3));
  const g = uniformArray(r, n, -2, 2); // (n)
  const y = uniformArray(r, n, -3, 3); // (n)
  g.set(SPECIALS.map((_, i) => (i % 2 ? -0.75 : 1.5))); // nonzero where x is infinite
  y.set(SPECIALS.map((_, i) => (i % 3 ? 2.5 : -0.5)));
  return { x, g, y };
}

/** Every kernel's outputs on x, g, y through the array functions. */
function runAll(x: Float32Array, g: Float32Array, y: Float32Array): Record<string, Float32Array> {
  const n = x.length;
  const o = (): Float32Array => new Float32Array(n).fill(-7); // every element must be written
  const out = { silu: o(), siluMul: o(), sigmoidMul: o(), siluGrad: o(), gg: o(), gdy: o(), gdz: o() };
  siluInto(x, out.silu);
  siluMulInto(x, g, out.siluMul);
  sigmoidMulInto(x, g, out.sigmoidMul);
  siluGradInto(x, g, out.siluGrad);
  gateGradInto(x, y, g, out.gg, out.gdy, out.gdz);
  return out;
}

/** Checks every output of runAll against the float64 references; returns the worst relative errors. */
function checkAll(x: Float32Array, g: Float32Array, y: Float32Array, out: Record<string, Float32Array>, what: string): number[] {
  const xs = Array.from(x);
  const silu64 = xs.map(refSilu);
  const gy = xs.map((_, i) => g[i] * y[i]); // dg · y
  return [
    expectNear(out.silu, silu64, silu64, `${what} silu`),
    expectNear(out.siluMul, silu64.map((s, i) => g[i] * s), silu64.map((s, i) => g[i] * s), `${what} siluMul`),
    expectNear(out.sigmoidMul, xs.map((v, i) => g[i] * sig(v)), xs.map((v, i) => g[i] * sig(v)), `${what} sigmoidMul`),
    expectNear(out.siluGrad, xs.map((v, i) => g[i] * refDsilu(v)), xs.map((v, i) => g[i] * dsiluScale(v)), `${what} siluGrad`),
    expectNear(out.gg, silu64.map((s, i) => y[i] * s), silu64.map((s, i) => y[i] * s), `${what} gateGrad g`),
    expectNear(out.gdy, silu64.map((s, i) => g[i] * s), silu64.map((s, i) => g[i] * s), `${what} gateGrad dy`),
    expectNear(out.gdz, xs.map((v, i) => gy[i] * refDsilu(v)), xs.map((v, i) => gy[i] * dsiluScale(v)), `${what} gateGrad dz`),
  ];
}

/** Index of the first element whose bits differ, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

useScanWasmSuite();
afterAll(() => setEnvFlag(THREADS_FLAG, undefined));

test('the five kernels are registered on cpu and wasm, silu and siluMul have gradients; registering again changes nothing', () => {
  const before = KERNELS.flatMap((k) => ['cpu', 'wasm'].map((be) => tf.getKernel(k, be)?.kernelFunc));
  expect(before.every((f) => typeof f === 'function')).toBe(true);
  expect(tf.getGradient(SILU_KERNEL)).toBeDefined();
  expect(tf.getGradient(SILU_MUL_KERNEL)).toBeDefined();
  registerGateKernels();
  expect(KERNELS.flatMap((k) => ['cpu', 'wasm'].map((be) => tf.getKernel(k, be)?.kernelFunc))).toEqual(before);
});

describe('array kernels against float64', () => {
  const { x, g, y } = inputs(3);

  test('the check itself fails on a 2e-6 relative error and on a wrong special', () => {
    const want = [1.5, -2, NaN];
    expect(() => expectNear(Float32Array.from([1.5 * (1 + 2e-6), -2, NaN]), want, want, 'rel')).toThrow(/error/);
    expect(() => expectNear(Float32Array.from([1.5, -2, 0]), want, want, 'nan')).toThrow(/expected NaN/);
  });

  test('SIMD: every kernel within the bounds; specials exact', () => {
    setEnvFlag(THREADS_FLAG, '1');
    const out = runAll(x, g, y);
    const worst = checkAll(x, g, y, out, 'SIMD');
    expect(Math.max(...worst)).toBeGreaterThan(0); // real rounding seen, not an identical copy
    const i = (v: number): number => SPECIALS.findIndex((s) => Object.is(s, v));
    expect(Object.is(out.silu[i(-0)], -0)).toBe(true);
    expect(Object.is(out.silu[i(0)], 0)).toBe(true);
    expect(out.silu[i(Infinity)]).toBe(Infinity);
    expect(Object.is(out.silu[i(-Infinity)], -0)).toBe(true); // the limit, from below
    expect(Number.isNaN(out.silu[i(NaN)])).toBe(true);
    expect(Math.abs(out.sigmoidMul[i(-Infinity)])).toBe(0);
    expect(out.siluGrad[i(Infinity)]).toBe(g[i(Infinity)]); // silu'(+∞) = 1
    expect(Math.abs(out.siluGrad[i(-Infinity)])).toBe(0);
    expect(out.siluGrad[i(3.4e38)]).toBe(g[i(3.4e38)]);
  });

  test('JS fallback (MAMBA_TFJS_SCAN_IMPL=js): the same bounds', () => {
    setEnvFlag(SCAN_IMPL_FLAG, 'js');
    try {
      checkAll(x, g, y, runAll(x, g, y), 'JS');
    } finally {
      setEnvFlag(SCAN_IMPL_FLAG, undefined);
    }
  });

  test('gateGrad equals siluMul(z, y), siluMul(z, dg), siluGrad(z, dg · y) bit for bit; every tail length', () => {
    const out = runAll(x, g, y);
    expect(firstDifference(out.gg, runAll(x, y, y).siluMul)).toBe(-1);
    expect(firstDifference(out.gdy, out.siluMul)).toBe(-1);
    const gy = Float32Array.from(g, (v, i) => v * y[i]); // (n) dg · y rounded to float32, as the kernel does
    const dz = new Float32Array(x.length);
    siluGradInto(x, gy, dz);
    expect(firstDifference(out.gdz, dz)).toBe(-1);
    for (const n of [1, 2, 3, 4, 5, 7]) {
      const sub = runAll(x.subarray(40_000, 40_000 + n), g.subarray(40_000, 40_000 + n), y.subarray(40_000, 40_000 + n));
      for (const k of Object.keys(sub)) expect(firstDifference(sub[k], out[k].subarray(40_000, 40_000 + n))).toBe(-1);
    }
  });

  test('mismatched lengths throw naming the kernel', () => {
    expect(() => siluMulInto(new Float32Array(4), new Float32Array(5), new Float32Array(4))).toThrow(/siluMulArray: expected arrays of one length, got 4, 5, 4/);
  });
});

describe('worker pool', () => {
  const { x, g, y } = inputs(9); // 50k elements: above minParallelWork, a tail of 3
  for (const threads of [2, 3]) {
    test(`${threads} threads give the single thread's results bit for bit`, () => {
      setEnvFlag(THREADS_FLAG, '1');
      const single = runAll(x, g, y);
      setEnvFlag(THREADS_FLAG, String(threads));
      const pooled = runAll(x, g, y);
      expect(simdThreadPool()?.size).toBe(threads);
      for (const k of Object.keys(single)) expect([k, firstDifference(pooled[k], single[k])]).toEqual([k, -1]);
      setEnvFlag(THREADS_FLAG, '1');
    });
  }
});

/** Runs `fn` under tf.profile: its tensor results' values and the kernels that ran. */
async function profiled(fn: () => tf.Tensor[]): Promise<{ values: Float32Array[]; shapes: number[][]; kernels: string[] }> {
  let out: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    out = fn();
  });
  const res = { values: await Promise.all(out.map(async (t) => (await t.data()) as Float32Array)), shapes: out.map((t) => t.shape), kernels: info.kernels.map((k) => k.name) };
  tf.dispose(out);
  return res;
}

for (const backend of ['cpu', 'wasm']) {
  describe(`the ops on ${backend}`, () => {
    const r = rng(backend.length);
    const shape = [3, 5, 67];
    const n = 3 * 5 * 67;
    const xs = uniformArray(r, n, -30, 30); // (3, 5, 67)
    const gs = uniformArray(r, n, -2, 2); // (3, 5, 67)
    const ys = uniformArray(r, n, -2, 2); // (3, 5, 67)

    test('each op runs its kernel (one, no tfjs elementwise kernels), keeps the shape and meets the bounds', async () => {
      await onBackend(backend, async () => {
        const t = (a: Float32Array) => tf.tensor(a, shape); // (3, 5, 67)
        const res = await profiled(() => tf.tidy(() => {
          const [x, g, y] = [t(xs), t(gs), t(ys)];
          return [silu(x), siluMul(x, g), sigmoidMul(x, g), siluGrad(x, g), ...gateGrad(x, y, g)];
        }));
        expect(res.kernels.filter((k) => k.startsWith('Mamba'))).toEqual(KERNELS);
        expect(res.kernels.filter((k) => ['Sigmoid', 'Mul', 'Add', 'Sub'].includes(k))).toEqual([]);
        for (const s of res.shapes) expect(s).toEqual(shape);
        const [sl, sm, sg, sd, gg, gdy, gdz] = res.values;
        checkAll(xs, gs, ys, { silu: sl, siluMul: sm, sigmoidMul: sg, siluGrad: sd, gg, gdy, gdz }, backend);
      });
    });

    test('broadcasting inputs take the tf ops; runKernel with mismatched shapes throws one clear error', async () => {
      await onBackend(backend, async () => {
        const res = await profiled(() => tf.tidy(() => [siluMul(tf.tensor2d([1, -1, 2, 0], [2, 2]), tf.tensor1d([2, 3]))]));
        expect(res.kernels.some((k) => k.startsWith('Mamba'))).toBe(false);
        expectNear(res.values[0], [2 * refSilu(1), 3 * refSilu(-1), 2 * refSilu(2), 0], [2, 3, 4, 1], 'broadcast siluMul', 1e-6);
        expect(() => tf.tidy(() => tf.engine().runKernel(SILU_MUL_KERNEL, { x: tf.zeros([2, 3]), g: tf.zeros([3, 2]) }))).toThrow(
          "MambaSiluMul: expected g of the shape of x [2,3], got [3,2]",
        );
      });
    });

    test('gradients of silu and siluMul through tf.grads: float64 and the tf-ops composite', async () => {
      await onBackend(backend, async () => {
        const [dSilu, dx, dg, cSilu, cx, cg] = tf.tidy(() => {
          const [x, g, w] = [tf.tensor(xs, shape), tf.tensor(gs, shape), tf.tensor(ys, shape)]; // (3, 5, 67) ×3
          const composite = (a: tf.Tensor) => tf.mul(a, tf.sigmoid(a));
          return [
            tf.grad((a: tf.Tensor) => tf.sum(tf.mul(silu(a), w)))(x),
            ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(siluMul(a, b), w)))([x, g]),
            tf.grad((a: tf.Tensor) => tf.sum(tf.mul(composite(a), w)))(x),
            ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.mul(b, composite(a)), w)))([x, g]),
          ];
        });
        const v = await Promise.all([dSilu, dx, dg, cSilu, cx, cg].map(async (t) => (await t.data()) as Float32Array));
        const x64 = Array.from(xs);
        const wantDx = x64.map((a, i) => ys[i] * refDsilu(a));
        const scaleDx = x64.map((a, i) => ys[i] * dsiluScale(a));
        expectNear(v[0], wantDx, scaleDx, 'd silu');
        expectNear(v[1], wantDx.map((d, i) => d * gs[i]), scaleDx.map((s, i) => s * gs[i]), 'd siluMul / dx');
        expectNear(v[2], x64.map((a, i) => ys[i] * refSilu(a)), x64.map((a, i) => ys[i] * refSilu(a)), 'd siluMul / dg');
        expectNear(v[0], Array.from(v[3]), scaleDx, 'd silu vs composite', 4e-6);
        expectNear(v[1], Array.from(v[4]), scaleDx.map((s, i) => s * gs[i]), 'dx vs composite', 4e-6);
        expectNear(v[2], Array.from(v[5]), Array.from(v[5]), 'dg vs composite', 4e-6);
        tf.dispose([dSilu, dx, dg, cSilu, cx, cg]);
      });
    });

    test('no leaked tensors over forward and backward rounds', async () => {
      await onBackend(backend, async () => {
        const x = tf.tensor(xs, shape); // (3, 5, 67)
        const g = tf.tensor(gs, shape); // (3, 5, 67)
        const round = (): void => {
          const outs = [silu(x), sigmoidMul(x, g), siluGrad(x, g), ...gateGrad(x, g, g)];
          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.add(siluMul(a, b), silu(a))))([x, g]);
          tf.dispose([...outs, ...grads]);
        };
        round();
        const before = tf.memory();
        for (let i = 0; i < 3; i++) round();
        expect(tf.memory().numTensors).toBe(before.numTensors);
        expect(tf.memory().numBytes).toBe(before.numBytes);
        tf.dispose([x, g]);
      });
    });
  });
}

test('without MambaGateGrad, gateGrad runs siluMul, siluMul, siluGrad with the same values', async () => {
  await onBackend('wasm', async () => {
    const r = rng(21);
    const [z, y, dg] = [0, 1, 2].map(() => uniformArray(r, 1000, -9, 9)); // (1000) ×3
    const run = () => profiled(() => tf.tidy(() => gateGrad(tf.tensor1d(z), tf.tensor1d(y), tf.tensor1d(dg))));
    const fused = await run();
    const kernel = tf.getKernel(GATE_GRAD_KERNEL, 'wasm');
    tf.unregisterKernel(GATE_GRAD_KERNEL, 'wasm');
    try {
      const split = await run();
      expect(split.kernels.filter((k) => k.startsWith('Mamba'))).toEqual([SILU_MUL_KERNEL, SILU_MUL_KERNEL, SILU_GRAD_KERNEL]);
      for (let k = 0; k < 3; k++) expect(firstDifference(split.values[k], fused.values[k])).toBe(-1);
    } finally {
      registerGateKernels();
    }
    expect(tf.getKernel(GATE_GRAD_KERNEL, 'wasm')?.kernelFunc).toBe(kernel?.kernelFunc);
  });
});
