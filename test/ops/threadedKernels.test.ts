/**
 * The SIMD kernels split over the Node worker pool (src/node/simdPool.ts, src/ops/kernels/simd/parallel.ts)
 * against the same kernels on one thread (the single-threaded module, MAMBA_TFJS_THREADS = 1): scan forward (and
 * its final states) and its gradients dx, dΔ, dA, dD, conv forward and backward, softplus equal bit for bit; dB and dC, whose sums over
 * channel ranges are added in another order, within 1e-6 relative. Sizes are chosen to split unevenly: ED 40 over
 * 3 threads gives channel ranges of 16, 16 and 8; N 5 is padded to 8.
 *
 * Shapes: B batch, L length, ED inner channels, N state size, K conv width.
 */
import { fusedScanBackwardFast, fusedScanForwardFast } from '../../src/ops/kernels/simd/scan';
import { convBackwardFast, convForwardFast } from '../../src/ops/kernels/simd/conv';
import { softplusInto } from '../../src/ops/kernels/simd/softplus';
import { simdThreadPool, splitRange } from '../../src/ops/kernels/simd/pool';
import { loadScanWasm } from '../../src/ops/kernels/simd/module';
import { THREADS_FLAG } from '../../src/flags';
import { setEnvFlag } from '../helpers/flags';
import { logUniform, rng, uniformArray } from '../helpers/random';

const dims = { B: 2, L: 512, ED: 40, N: 5 };
const K = 4;
const { B, L, ED, N } = dims;
const r = rng(16);
const uni = (n: number, lo: number, hi: number) => uniformArray(r, n, lo, hi);
const x = uni(B * L * ED, -1, 1); // (B, L, ED)
const delta = Float32Array.from({ length: B * L * ED }, () => logUniform(r, 1e-3, 1)); // (B, L, ED)
const A = Float32Array.from({ length: ED * N }, (_, k) => -((k % N) + 1) * (0.9 + 0.2 * r())); // (ED, N)
const Bm = uni(B * L * N, -1, 1); // (B, L, N)
const Cm = uni(B * L * N, -1, 1); // (B, L, N)
const D = uni(ED, 0.5, 1.5); // (ED)
const dy = uni(B * L * ED, -1, 1); // (B, L, ED)
const w = uni(K * ED, -1, 1); // (K, ED)
const bias = uni(ED, -1, 1); // (ED)
const wide = uni(B * L * ED + 3, -30, 30); // softplus input, length not a multiple of 4
// The conv splits only from 2^21 elements (simd/conv.ts): its own, larger case, ED 40 over 3 threads still uneven.
const cd = { B: 2, L: 26215, ED: 40, K }; // B·L·ED = 2 097 200
const cn = cd.B * cd.L * cd.ED;
const cx = uni(cn, -1, 1); // (B, L, ED)
const cdy = uni(cn, -1, 1); // (B, L, ED)

/** Every kernel's outputs, named. */
function runAll(): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  out.y = fusedScanForwardFast(x, delta, A, Bm, Cm, D, dims);
  out.state = new Float32Array(B * ED * N); // (B, ED, N): the final states, from a second pass that keeps them
  out.yWithState = fusedScanForwardFast(x, delta, A, Bm, Cm, D, dims, undefined, out.state);
  Object.assign(out, fusedScanBackwardFast(x, delta, A, Bm, Cm, D, dy, dims));
  out.convY = new Float32Array(cn);
  convForwardFast(cx, w, bias, cd, out.convY);
  out.convDx = new Float32Array(cn);
  out.convDw = new Float32Array(K * ED);
  out.convDbias = new Float32Array(ED);
  convBackwardFast(cx, w, cdy, cd, out.convDx, out.convDw, out.convDbias);
  out.softplus = new Float32Array(wide.length);
  softplusInto(wide, out.softplus);
  return out;
}

/** Index of the first element whose bits differ, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

afterAll(() => setEnvFlag(THREADS_FLAG, undefined));

test('splitRange cuts [0, n) into even runs on multiples of the alignment, leaving out empty ones', () => {
  expect(splitRange(40, 3, 16)).toEqual([[0, 16], [16, 32], [32, 40]]);
  expect(splitRange(128, 4, 16)).toEqual([[0, 32], [32, 64], [64, 96], [96, 128]]);
  expect(splitRange(10, 4, 4)).toEqual([[0, 4], [4, 8], [8, 10]]);
  expect(splitRange(0, 2, 4)).toEqual([]);
});

describe('threaded SIMD kernels', () => {
  setEnvFlag(THREADS_FLAG, '1');
  const single = runAll();

  it('ran the single-threaded pass on the single-threaded module', () => {
    expect(simdThreadPool()).toBeNull();
    expect(loadScanWasm()).not.toBeNull();
  });

  for (const threads of [2, 3]) {
    describe(`${threads} threads`, () => {
      let threaded: Record<string, Float32Array>;
      beforeAll(() => {
        setEnvFlag(THREADS_FLAG, String(threads));
        threaded = runAll();
      });

      it('ran on a pool of that size', () => {
        expect(simdThreadPool()?.size).toBe(threads);
      });

      for (const name of ['y', 'yWithState', 'state', 'dx', 'ddelta', 'dA', 'dD', 'convY', 'convDx', 'convDw', 'convDbias', 'softplus']) {
        it(`${name} equals the single-threaded result bit for bit`, () => {
          expect(threaded[name].length).toBe(single[name].length);
          expect(firstDifference(threaded[name], single[name])).toBe(-1);
        });
      }

      for (const name of ['dB', 'dC']) {
        it(`${name} (sums over channel ranges) is within 1e-6 of the single-threaded result`, () => {
          const a = threaded[name];
          const b = single[name];
          let worst = 0;
          for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3));
          expect(worst).toBeLessThanOrEqual(1e-6);
          // and they are real sums: not all equal to zero
          expect(b.some((v) => Math.abs(v) > 1e-2)).toBe(true);
        });
      }
    });
  }
});

test('N 16 (the backward scan with its rows in registers, asm/scanBack16.ts): 3 threads equal one, bit for bit but dB and dC', () => {
  const d16 = { B: 2, L: 300, ED: 40, N: 16 };
  const q = rng(17);
  const n = (k: number, lo: number, hi: number) => uniformArray(q, k, lo, hi);
  const args = [
    n(2 * 300 * 40, -1, 1), // x (B, L, ED)
    Float32Array.from({ length: 2 * 300 * 40 }, () => logUniform(q, 1e-3, 1)), // delta (B, L, ED)
    Float32Array.from({ length: 40 * 16 }, (_, k) => -((k % 16) + 1) * (0.9 + 0.2 * q())), // A (ED, N)
    n(2 * 300 * 16, -1, 1), // B (B, L, N)
    n(2 * 300 * 16, -1, 1), // C (B, L, N)
    n(40, 0.5, 1.5), // D (ED)
    n(2 * 300 * 40, -1, 1), // dy (B, L, ED)
  ] as const;
  setEnvFlag(THREADS_FLAG, '1');
  const one = fusedScanBackwardFast(...args, d16);
  setEnvFlag(THREADS_FLAG, '3');
  const three = fusedScanBackwardFast(...args, d16);
  expect(simdThreadPool()?.size).toBe(3);
  for (const k of ['dx', 'ddelta', 'dA', 'dD'] as const) expect(firstDifference(three[k], one[k])).toBe(-1);
  for (const k of ['dB', 'dC'] as const) {
    let worst = 0;
    for (let i = 0; i < one[k].length; i++) worst = Math.max(worst, Math.abs(three[k][i] - one[k][i]) / Math.max(Math.abs(one[k][i]), 1e-3));
    expect(worst).toBeLessThanOrEqual(1e-6);
  }
});
