/**
 * The fused Mamba-2 (SSD) scan: the JS loops and the WebAssembly SIMD module (asm/ssd.ts) against an independent
 * float64 reference (values, final state, all seven gradients, with and without h0, decays that underflow), and the op on the cpu backend against the chunked and
 * sequential tf-op scans (values, final state, tf.grads of every input).
 *
 * Shapes: B batch, L length, H heads, P head dim, G groups, N state size.
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { SsdGrads, ssdBackward, ssdForward } from '../../src/ops/kernels/js/ssdMath';
import { SsdInputs, ssd, ssdChunked, ssdSequential, resolveSsdMode } from '../../src/ops/ssd/ssd';
import { fusedSsd } from '../../src/ops/ssd/fusedSsd';
import { ssdBackwardFast, ssdForwardFast } from '../../src/ops/kernels/simd/ssd';
import { scanKernelImpl } from '../../src/ops/kernels/simd/scan';
import { SSD_MODE_FLAG } from '../../src/flags';
import { expectRelClose } from '../helpers/close';
import { ssdCase, ssdReference } from '../helpers/ssdCase';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const GRADS: (keyof SsdGrads)[] = ['dx', 'ddt', 'dA', 'dB', 'dC', 'dD', 'dh0'];

type SsdImpl = { forward: typeof ssdForward; backward: typeof ssdBackward };
/** One implementation's y, state (within tolOut) and every gradient (within tolGrad) against the float64 reference. */
function expectMatchesReference(impl: SsdImpl, c: ReturnType<typeof ssdCase>, dims: Parameters<typeof ssdForward>[1], tolOut: number, tolGrad: number): void {
  const ref = ssdReference(c);
  const out = impl.forward(c, dims);
  expectRelClose(out.y, ref.y, tolOut, 'y');
  expectRelClose(out.state, ref.state, tolOut, 'state');
  const g = impl.backward(c, c.dy, c.dstate, dims);
  for (const k of GRADS) expectRelClose(g[k], ref.grads[k], tolGrad, k);
}

describe('ssdMath (JS loops) vs the float64 reference', () => {
  test.each([
    ['G 2, N 5, P 3', { B: 2, L: 9, H: 4, P: 3, G: 2, N: 5 }, 'realistic', false],
    ['G 1, from h0', { B: 1, L: 13, H: 3, P: 2, G: 1, N: 4 }, 'realistic', true],
    ['G = H, underflowing decays', { B: 2, L: 11, H: 2, P: 4, G: 2, N: 3 }, 'underflow', true],
    ['L 1', { B: 1, L: 1, H: 2, P: 2, G: 1, N: 3 }, 'realistic', true],
  ] as const)('%s', (_, dims, kind, withH0) => {
    expectMatchesReference({ forward: ssdForward, backward: ssdBackward }, ssdCase(dims, 7 + dims.L, kind, !withH0), dims, 1e-6, 1e-5);
  });

  test('bad sizes are named', () => {
    const dims = { B: 1, L: 2, H: 2, P: 1, G: 1, N: 2 };
    const c = ssdCase(dims, 1);
    expect(() => ssdForward({ ...c, dt: new Float32Array(3) }, dims)).toThrow(/fusedSsd: dt must have 4 elements .* got 3/);
    expect(() => ssdForward(c, { ...dims, G: 3 })).toThrow(/G must divide heads H, got G 3, H 2/);
  });
});

describe('WebAssembly SIMD (asm/ssd.ts) vs the float64 reference', () => {
  test('the module is in use', () => expect(scanKernelImpl()).toBe('wasm-simd'));
  test.each([
    ['N 5 (padded to 8), G 2', { B: 2, L: 19, H: 4, P: 3, G: 2, N: 5 }, 'realistic', true],
    ['N 16, G 1, no h0', { B: 1, L: 40, H: 2, P: 8, G: 1, N: 16 }, 'realistic', false],
    ['N 8, underflowing decays', { B: 2, L: 17, H: 2, P: 4, G: 2, N: 8 }, 'underflow', true],
  ] as const)('%s', (_, dims, kind, withH0) => {
    expectMatchesReference({ forward: ssdForwardFast, backward: ssdBackwardFast }, ssdCase(dims, 100 + dims.L, kind, !withH0), dims, 2e-6, 2e-5);
  });
});

/** Tensors of a case (x as (B, L, H, P), and so on). */
function tensors(l: number, seed: number): { i: SsdInputs; h0: tf.Tensor; w: tf.Tensor; ws: tf.Tensor } {
  const dims = { B: 2, L: l, H: 4, P: 3, G: 2, N: 5 };
  const c = ssdCase(dims, seed);
  return {
    i: {
      x: tf.tensor(c.x, [2, l, 4, 3]), dt: tf.tensor(c.dt, [2, l, 4]), a: tf.tensor(c.A, [4]),
      bm: tf.tensor(c.Bm, [2, l, 2, 5]), cm: tf.tensor(c.Cm, [2, l, 2, 5]), d: tf.tensor(c.D, [4]),
    },
    h0: tf.tensor(c.h0, [2, 4, 3, 5]), w: tf.tensor(c.dy, [2, l, 4, 3]), ws: tf.tensor(c.dstate, [2, 4, 3, 5]),
  };
}

describe('fusedSsd op (cpu)', () => {
  test.each([1, 7, 16])('L %i: equals chunked and sequential (y, state, every gradient incl. h0)', (l) => {
    const { i, h0, w, ws } = tensors(l, 30 + l);
    const keys = ['x', 'dt', 'a', 'bm', 'cm', 'd'] as const;
    const run = (f: (j: SsdInputs, s: tf.Tensor) => { y: tf.Tensor; state: tf.Tensor }) => {
      const out = f(i, h0);
      const grads = tf.grads((...xs: tf.Tensor[]) => {
        const j = Object.fromEntries(keys.map((k, n) => [k, xs[n]])) as unknown as SsdInputs;
        const o = f(j, xs[6]);
        return tf.add(tf.sum(tf.mul(o.y, w)), tf.sum(tf.mul(o.state, ws)));
      })([...keys.map((k) => i[k]), h0]);
      return { out, grads };
    };
    const before = tf.memory().numTensors;
    const fu = run((j, s) => fusedSsd(j, s));
    for (const [name, other] of [['sequential', run((j, s) => ssdSequential(j, s))], ['chunked', run((j, s) => ssdChunked(j, 4, s))]] as const) {
      expectRelClose(fu.out.y.dataSync(), other.out.y.dataSync(), 1e-5, `y vs ${name}`);
      expectRelClose(fu.out.state.dataSync(), other.out.state.dataSync(), 1e-5, `state vs ${name}`);
      [...keys, 'h0'].forEach((k, n) => expectRelClose(fu.grads[n].dataSync(), other.grads[n].dataSync(), 1e-4, `d${k} vs ${name}`));
      tf.dispose([other.out.y, other.out.state, ...other.grads]);
    }
    tf.dispose([fu.out.y, fu.out.state, ...fu.grads]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([h0, w, ws, ...Object.values(i)]);
  });

  test("modes: 'auto' resolves to fused on cpu, the flag pins it; ssd() runs each", () => {
    expect(resolveSsdMode('auto')).toBe('fused');
    tf.env().set(SSD_MODE_FLAG, 'chunked');
    try {
      expect(resolveSsdMode('auto')).toBe('chunked');
      expect(resolveSsdMode('fused')).toBe('fused');
    } finally {
      tf.env().set(SSD_MODE_FLAG, 'auto');
    }
    const { i, h0, w, ws } = tensors(5, 3);
    const ys = (['auto', 'fused', 'chunked', 'sequential'] as const).map((m) => ssd(i, m, 2).y.dataSync());
    for (const y of ys.slice(1)) expectRelClose(y, ys[0], 1e-5, 'y');
    expect(() => ssd(i, 'pscan' as never, 2)).toThrow(/ssd: expected mode auto, fused, chunked or sequential, got "pscan"/);
    expect(() => fusedSsd(i, tf.zeros([2, 4, 3, 4]))).toThrow(/fusedSsd: expected h0 of shape \[2,4,3,5\], got \[2,4,3,4\]/);
    tf.dispose([h0, w, ws, ...Object.values(i)]);
  });
});
