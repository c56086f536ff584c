/**
 * WebAssembly SIMD fused scan (src/ops/fusedScanWasm.ts over dist/ops/scan.wasm)
 * against the JS loops of fusedScanMath and an independent float64 reference,
 * plus its vectorized exp against Math.exp.
 *
 * Shapes: B batch, L length, ED inner channels, N state size.
 * Needs dist/ops/scan.wasm: `npm test` builds it first (pretest); a bare `npx jest`
 * after a clean checkout fails here with a message saying to run `npm run build`.
 */
import * as tf from '@tensorflow/tfjs';
import {
  fusedScanBackwardFast,
  fusedScanForwardFast,
  scanKernelImpl,
  simdExp,
} from '../../src/ops/kernels/simd/scan';
import { SCAN_IMPL_FLAG } from '../../src/flags';
import { fusedScanBackward, fusedScanForward, FusedScanGrads } from '../../src/ops/kernels/js/scanMath';
import { loadScanWasm } from '../../src/ops/kernels/simd/module';
import { fusedSelectiveScan } from '../../src/ops/scan/fusedSelectiveScan';
import { expectRelClose } from '../helpers/close';
import { logUniform, rng, uniformArray } from '../helpers/random';
import { ScanDims as Dims, ScanInputs } from '../helpers/scanCase';
import { setEnvFlag } from '../helpers/flags';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

/** One random problem (float32) plus its upstream gradient dy. */
interface Case extends ScanInputs {
  dy: Float32Array; // (B, L, ED)
}

/**
 * Random case. 'realistic': delta log-uniform in [1e-3, 0.1] with 10% in [0.1, 1]
 * (long memories, a close to 1). 'underflow': a third of the steps have delta in
 * [5, 50], so delta * A reaches -900 and exp underflows to 0.
 * A = -(1..N) perturbed by 10%; x, B, C, dy in [-1, 1]; D in [0.5, 1.5].
 */
function makeCase(dims: Dims, seed: number, deltaKind: 'realistic' | 'underflow'): Case {
  const { B, L, ED, N } = dims;
  const r = rng(seed);
  const uni = (n: number, lo: number, hi: number) => uniformArray(r, n, lo, hi);
  const delta = Float32Array.from({ length: B * L * ED }, () => {
    if (deltaKind === 'underflow' && r() < 1 / 3) return 5 + 45 * r();
    return r() < 0.1 ? 0.1 + 0.9 * r() : logUniform(r, 1e-3, 0.1);
  }); // (B, L, ED)
  return {
    dims,
    x: uni(B * L * ED, -1, 1),
    delta,
    A: Float32Array.from({ length: ED * N }, (_, k) => -((k % N) + 1) * (0.9 + 0.2 * r())), // (ED, N)
    Bm: uni(B * L * N, -1, 1),
    Cm: uni(B * L * N, -1, 1),
    D: uni(ED, 0.5, 1.5),
    dy: uni(B * L * ED, -1, 1),
  };
}

/** Float64 reference outputs: y and the six gradients of sum(y * dy). */
interface Reference { y: Float64Array; grads: Record<keyof FusedScanGrads, Float64Array> }

/**
 * Textbook float64 reference, per (b, e) channel: forward recurrence keeping every
 * state, then the reverse scan g_t = dy_t C_t + a_{t+1} g_{t+1}.
 */
function reference(c: Case): Reference {
  const { B, L, ED, N } = c.dims;
  const y = new Float64Array(B * L * ED); // (B, L, ED)
  const grads = {
    dx: new Float64Array(B * L * ED), ddelta: new Float64Array(B * L * ED), dA: new Float64Array(ED * N),
    dB: new Float64Array(B * L * N), dC: new Float64Array(B * L * N), dD: new Float64Array(ED),
  };
  for (let b = 0; b < B; b++) {
    for (let e = 0; e < ED; e++) {
      const idx = (t: number) => (b * L + t) * ED + e; // (b, t, e) in (B, L, ED)
      const jdx = (t: number, n: number) => (b * L + t) * N + n; // (b, t, n) in (B, L, N)
      const aOf = (t: number, n: number) => Math.exp(c.delta[idx(t)] * c.A[e * N + n]);
      const hs: Float64Array[] = [new Float64Array(N)]; // hs[t + 1] = h_t (N)
      for (let t = 0; t < L; t++) {
        const i = idx(t);
        const h = new Float64Array(N);
        let s = 0;
        for (let n = 0; n < N; n++) {
          h[n] = aOf(t, n) * hs[t][n] + c.delta[i] * c.Bm[jdx(t, n)] * c.x[i];
          s += h[n] * c.Cm[jdx(t, n)];
        }
        hs.push(h);
        y[i] = s + c.D[e] * c.x[i];
      }
      const gNext = new Float64Array(N); // a_{t+1} g_{t+1}
      for (let t = L - 1; t >= 0; t--) {
        const i = idx(t);
        const dt = c.delta[i];
        let dx = c.dy[i] * c.D[e];
        let dd = 0;
        for (let n = 0; n < N; n++) {
          const j = jdx(t, n);
          const a = aOf(t, n);
          const g = c.dy[i] * c.Cm[j] + gNext[n];
          dx += g * dt * c.Bm[j];
          dd += g * (c.Bm[j] * c.x[i] + c.A[e * N + n] * a * hs[t][n]);
          grads.dA[e * N + n] += g * dt * a * hs[t][n];
          grads.dB[j] += g * dt * c.x[i];
          grads.dC[j] += c.dy[i] * hs[t + 1][n];
          gNext[n] = a * g;
        }
        grads.dx[i] = dx;
        grads.ddelta[i] = dd;
        grads.dD[e] += c.dy[i] * c.x[i];
      }
    }
  }
  return { y, grads };
}

const GRAD_NAMES = ['dx', 'ddelta', 'dA', 'dB', 'dC', 'dD'] as const;

/** Runs a case through both implementations and checks both against the reference (1e-5 relative). */
function checkCase(c: Case, what: string): void {
  const ref = reference(c);
  const args = [c.x, c.delta, c.A, c.Bm, c.Cm, c.D] as const;
  const ySimd = fusedScanForwardFast(...args, c.dims);
  const yJs = fusedScanForward(...args, c.dims);
  expectRelClose(ySimd, ref.y, 1e-5, `${what}: simd y vs float64`);
  expectRelClose(ySimd, yJs, 1e-5, `${what}: simd y vs js`);
  const gSimd = fusedScanBackwardFast(...args, c.dy, c.dims);
  const gJs = fusedScanBackward(...args, c.dy, c.dims);
  for (const name of GRAD_NAMES) {
    expectRelClose(gSimd[name], ref.grads[name], 1e-5, `${what}: simd ${name} vs float64`);
    expectRelClose(gSimd[name], gJs[name], 1e-5, `${what}: simd ${name} vs js`);
  }
}

const savedImpl = process.env[SCAN_IMPL_FLAG];

beforeAll(() => {
  setEnvFlag(SCAN_IMPL_FLAG, undefined);
  if (loadScanWasm() == null) {
    throw new Error(
      'the embedded SIMD module (src/ops/kernels/simd/scanWasmBinary.ts) does not load: run `npm run build:wasm`',
    );
  }
});

afterAll(() => {
  if (savedImpl === undefined) setEnvFlag(SCAN_IMPL_FLAG, undefined);
  else setEnvFlag(SCAN_IMPL_FLAG, savedImpl);
});

describe('module', () => {
  test('scan.wasm is built, loads, and is the active implementation', () => {
    expect(scanKernelImpl()).toBe('wasm-simd');
  });

  test(`${SCAN_IMPL_FLAG}=js switches to the JS loops (bit-identical to fusedScanMath)`, () => {
    const c = makeCase({ B: 1, L: 5, ED: 3, N: 4 }, 11, 'realistic');
    setEnvFlag(SCAN_IMPL_FLAG, 'js');
    try {
      expect(scanKernelImpl()).toBe('js');
      const y = fusedScanForwardFast(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.dims);
      expect(Array.from(y)).toEqual(Array.from(fusedScanForward(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.dims)));
    } finally {
      setEnvFlag(SCAN_IMPL_FLAG, undefined);
    }
    expect(scanKernelImpl()).toBe('wasm-simd');
  });
});

describe('vectorized exp', () => {
  /** Largest relative error of simdExp vs Math.exp over xs with a normal float32 result. */
  function maxRelErr(xs: Float32Array): number {
    const got = simdExp(xs);
    if (got == null) throw new Error('simdExp: module unavailable');
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      const want = Math.exp(xs[i]);
      worst = Math.max(worst, Math.abs(got[i] - want) / want);
    }
    return worst;
  }

  test('relative error <= 2e-7 on a dense grid of [-87.33, 0] and on [0, 88]', () => {
    const n = 1 << 20;
    const neg = Float32Array.from({ length: n }, (_, i) => -87.33 * (i / (n - 1))); // (n)
    expect(maxRelErr(neg)).toBeLessThanOrEqual(2e-7);
    const pos = Float32Array.from({ length: 1 << 16 }, (_, i) => 88 * (i / ((1 << 16) - 1))); // (n)
    expect(maxRelErr(pos)).toBeLessThanOrEqual(2e-7);
  });

  test('relative error <= 2e-7 on every float32 in [-1e-3, 1e-3] step and on random float32 bit patterns', () => {
    const small = Float32Array.from({ length: 4001 }, (_, i) => (i - 2000) * 5e-7); // around 0, (4001)
    expect(maxRelErr(small)).toBeLessThanOrEqual(2e-7);
    const r = rng(5);
    const bits = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(r() * 2 ** 32)); // (n)
    const any = new Float32Array(bits.buffer).filter((v) => v >= -87.33 && v <= 88); // finite, normal results
    expect(any.length).toBeGreaterThan(1000);
    expect(maxRelErr(any)).toBeLessThanOrEqual(2e-7);
  });

  test('edge cases: exp(0) = 1 exactly, underflow to 0, overflow to Infinity, NaN stays NaN', () => {
    const xs = Float32Array.from([0, -0, -87.34, -88, -100, -1e30, -Infinity, 89, Infinity, NaN, 1e-30, -1e-30]);
    const got = simdExp(xs)!;
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1);
    for (let i = 2; i <= 6; i++) expect(got[i]).toBe(0);
    expect(got[7]).toBe(Infinity);
    expect(got[8]).toBe(Infinity);
    expect(got[9]).toBeNaN();
    expect(got[10]).toBe(1);
    expect(got[11]).toBe(1);
  });
});

describe('forward and all six gradients vs JS and a float64 reference (1e-5 relative)', () => {
  const cases: [number, number][] = [];
  for (const N of [1, 3, 16, 17]) for (const L of [1, 37, 100]) cases.push([N, L]);

  test.each(cases)('N %i, L %i, B 2, ED 6, realistic and underflowing delta', (N, L) => {
    const dims = { B: 2, L, ED: 6, N };
    checkCase(makeCase(dims, 100 * N + L, 'realistic'), `realistic N ${N} L ${L}`);
    checkCase(makeCase(dims, 100 * N + L + 7, 'underflow'), `underflow N ${N} L ${L}`);
  });

  test('long memory: B 1, L 2048, ED 8, N 16 (decays close to 1 over many steps)', () => {
    const c = makeCase({ B: 1, L: 2048, ED: 8, N: 16 }, 77, 'realistic');
    c.delta.forEach((v, i) => (c.delta[i] = v * 0.1)); // delta in [1e-4, 0.1]: a up to 0.9999
    checkCase(c, 'long memory');
  });

  test('more channels than one accumulation block: B 2, L 20, ED 37, N 8', () => {
    checkCase(makeCase({ B: 2, L: 20, ED: 37, N: 8 }, 5, 'realistic'), 'ED 37');
  });
});

describe('calling contract (same as fusedScanMath)', () => {
  test('caller outputs are filled and returned; NaN-prefilled outputs are fully overwritten', () => {
    const dims = { B: 2, L: 9, ED: 5, N: 3 };
    const c = makeCase(dims, 3, 'realistic');
    const args = [c.x, c.delta, c.A, c.Bm, c.Cm, c.D] as const;
    const y = new Float32Array(2 * 9 * 5).fill(NaN); // (B, L, ED)
    expect(fusedScanForwardFast(...args, dims, y)).toBe(y);
    expectRelClose(y, fusedScanForward(...args, dims), 1e-5, 'y');
    const out = {
      dx: new Float32Array(2 * 9 * 5).fill(NaN), dA: new Float32Array(5 * 3).fill(NaN),
      dB: new Float32Array(2 * 9 * 3).fill(NaN), dD: new Float32Array(5).fill(NaN),
    };
    const g = fusedScanBackwardFast(...args, c.dy, dims, out);
    expect(g.dx).toBe(out.dx);
    expect(g.dA).toBe(out.dA);
    expect(g.dB).toBe(out.dB);
    expect(g.dD).toBe(out.dD);
    const gJs = fusedScanBackward(...args, c.dy, dims);
    GRAD_NAMES.forEach((name) => expectRelClose(g[name], gJs[name], 1e-5, name));
  });

  test('size errors name expected vs got, like the JS version', () => {
    const dims = { B: 1, L: 2, ED: 3, N: 4 };
    const c = makeCase(dims, 1, 'realistic');
    expect(() => fusedScanForwardFast(c.x.subarray(1), c.delta, c.A, c.Bm, c.Cm, c.D, dims)).toThrow(
      'x must have 6 elements (B, L, ED) = (1, 2, 3), got 5',
    );
    expect(() => fusedScanBackwardFast(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.dy.subarray(2), dims)).toThrow(
      'dy must have 6 elements',
    );
    expect(() => fusedScanForwardFast(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, { ...dims, N: 1.5 })).toThrow('dims.N');
  });

  test('empty problems (B 0, L 0) give empty or zero results', () => {
    const e = new Float32Array(0);
    const A = new Float32Array(3 * 2).fill(-1); // (ED, N)
    const D = new Float32Array(3).fill(1); // (ED)
    expect(fusedScanForwardFast(e, e, A, e, e, D, { B: 0, L: 4, ED: 3, N: 2 }).length).toBe(0);
    const g = fusedScanBackwardFast(e, e, A, e, e, D, e, { B: 2, L: 0, ED: 3, N: 2 });
    expect(Array.from(g.dA)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(g.dD)).toEqual([0, 0, 0]);
  });
});

describe('tfjs kernels use the SIMD path', () => {
  test('cpu kernel output equals fusedScanForwardFast bit for bit', async () => {
    await tf.setBackend('cpu');
    const dims = { B: 2, L: 7, ED: 4, N: 5 };
    const c = makeCase(dims, 9, 'realistic');
    const y = tf.tidy(() =>
      fusedSelectiveScan(
        tf.tensor3d(c.x, [2, 7, 4]), tf.tensor3d(c.delta, [2, 7, 4]), tf.tensor2d(c.A, [4, 5]),
        tf.tensor3d(c.Bm, [2, 7, 5]), tf.tensor3d(c.Cm, [2, 7, 5]), tf.tensor1d(c.D),
      ).dataSync(),
    ); // (B, L, ED)
    expect(Array.from(y)).toEqual(Array.from(fusedScanForwardFast(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, dims)));
  });
});
