/**
 * The fused depthwise causal conv1d (src/ops/fusedConv.ts: kernels MambaCausalConv1d / MambaCausalConv1dGrad)
 * on the 'cpu' and 'wasm' backends, its JS loops (convMath.ts) and its SIMD path (convWasm.ts over
 * dist/ops/scan.wasm), all against an independent float64 reference and against the composite
 * causalDepthwiseConv of linear.ts: forward values, tf.grads gradients, SIMD vs JS agreement, bias null,
 * shape errors, the fallback when a backend lacks the kernel, and no leaked tensors.
 *
 * Shapes: B batch, L length, ED inner channels, K conv width (tap K-1 is the current step).
 * Needs dist/ops/scan.wasm (`npm run build`).
 */
import * as tf from '@tensorflow/tfjs';
import { causalConv, hasConvKernel } from '../../src/ops/conv/causalConv';
import { CONV_GRAD_KERNEL, CONV_KERNEL } from '../../src/ops/kernels/names';
import { ConvDims, convBackward, convForward } from '../../src/ops/kernels/js/convMath';
import { convBackwardFast, convForwardFast } from '../../src/ops/kernels/simd/conv';
import { scanKernelImpl } from '../../src/ops/kernels/simd/scan';
import { SCAN_IMPL_FLAG } from '../../src/flags';
import { causalDepthwiseConv } from '../../src/ops/conv/compositeConv';
import { expectRelClose } from '../helpers/close';
import { onBackend, useScanWasmSuite } from '../helpers/backends';
import { rng, uniformArray } from '../helpers/random';
import { setEnvFlag } from '../helpers/flags';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

const RTOL = 1e-5;

/** One random problem: inputs and the upstream gradient dy. */
interface Case {
  d: ConvDims;
  x: Float32Array; // (B, L, ED)
  w: Float32Array; // (K, ED)
  bias: Float32Array; // (ED)
  dy: Float32Array; // (B, L, ED)
}

function makeCase(d: ConvDims, seed: number): Case {
  const r = rng(seed);
  const nE = d.B * d.L * d.ED;
  return {
    d,
    x: uniformArray(r, nE, -1, 1), // (B, L, ED)
    w: uniformArray(r, d.K * d.ED, -1, 1), // (K, ED)
    bias: uniformArray(r, d.ED, -1, 1), // (ED)
    dy: uniformArray(r, nE, -1, 1), // (B, L, ED)
  };
}

/** Float64 reference forward, written from the formula: y[b,t,e] = bias[e] + Σ_k w[k,e] x[b, t-(K-1)+k, e]. */
function refForward(c: Case, withBias = true): Float64Array {
  const { B, L, ED, K } = c.d;
  const y = new Float64Array(B * L * ED); // (B, L, ED)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      for (let e = 0; e < ED; e++) {
        let s = withBias ? c.bias[e] : 0;
        for (let k = 0; k < K; k++) {
          const src = t - (K - 1) + k;
          if (src < 0) continue; // zero padding before t = 0
          s += c.w[k * ED + e] * c.x[(b * L + src) * ED + e];
        }
        y[(b * L + t) * ED + e] = s;
      }
    }
  }
  return y;
}

/** Float64 reference gradients of sum(y * dy), each derived directly (no shared loop with the forward). */
function refBackward(c: Case): { dx: Float64Array; dw: Float64Array; dbias: Float64Array } {
  const { B, L, ED, K } = c.d;
  const dx = new Float64Array(B * L * ED); // (B, L, ED)
  const dw = new Float64Array(K * ED); // (K, ED)
  const dbias = new Float64Array(ED); // (ED)
  // dx[b, s, e] = Σ_k w[k, e] dy[b, s + (K-1) - k, e] over outputs t = s + (K-1) - k inside [0, L).
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < L; s++) {
      for (let e = 0; e < ED; e++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const t = s + (K - 1) - k;
          if (t < L) acc += c.w[k * ED + e] * c.dy[(b * L + t) * ED + e];
        }
        dx[(b * L + s) * ED + e] = acc;
      }
    }
  }
  // dw[k, e] = Σ_{b,t} dy[b, t, e] x[b, t-(K-1)+k, e];  dbias[e] = Σ_{b,t} dy[b, t, e].
  for (let k = 0; k < K; k++) {
    for (let e = 0; e < ED; e++) {
      let acc = 0;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < L; t++) {
          const src = t - (K - 1) + k;
          if (src >= 0) acc += c.dy[(b * L + t) * ED + e] * c.x[(b * L + src) * ED + e];
        }
      }
      dw[k * ED + e] = acc;
    }
  }
  for (let e = 0; e < ED; e++) {
    let acc = 0;
    for (let i = 0; i < B * L; i++) acc += c.dy[i * ED + e];
    dbias[e] = acc;
  }
  return { dx, dw, dbias };
}

/** Shapes: a realistic one, L 1, L < K, K 1, K > L, ED not a multiple of 4, B·L past the SIMD's 32-row block. */
const SHAPES: ConvDims[] = [
  { B: 2, L: 37, ED: 130, K: 4 },
  { B: 1, L: 1, ED: 5, K: 4 },
  { B: 3, L: 2, ED: 8, K: 4 },
  { B: 2, L: 9, ED: 7, K: 1 },
  { B: 1, L: 3, ED: 6, K: 6 },
  { B: 2, L: 70, ED: 4, K: 3 },
  { B: 1, L: 5, ED: 1, K: 2 },
];
const label = (d: ConvDims): string => `B ${d.B}, L ${d.L}, ED ${d.ED}, K ${d.K}`;


/** Runs `fn` with MAMBA_TFJS_SCAN_IMPL=js, restoring the variable after. */
function withJsImpl<T>(fn: () => T): T {
  const saved = process.env[SCAN_IMPL_FLAG];
  setEnvFlag(SCAN_IMPL_FLAG, 'js');
  try {
    return fn();
  } finally {
    if (saved === undefined) setEnvFlag(SCAN_IMPL_FLAG, undefined);
    else setEnvFlag(SCAN_IMPL_FLAG, saved);
  }
}

/** Forward and gradients (x, weight, bias) of sum(conv(x, w, bias) * dy) through tf.grads, as arrays. */
async function runConv(
  conv: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null) => tf.Tensor, c: Case, withBias = true,
): Promise<{ y: Float32Array; grads: Float32Array[] }> {
  const { B, L, ED, K } = c.d;
  const [y, ...grads] = tf.tidy(() => {
    const x = tf.tensor3d(c.x, [B, L, ED]); // (B, L, ED)
    const w = tf.tensor2d(c.w, [K, ED]); // (K, ED)
    const bias = tf.tensor1d(c.bias); // (ED)
    const dy = tf.tensor3d(c.dy, [B, L, ED]); // (B, L, ED)
    const yOut = conv(x, w, withBias ? bias : null); // (B, L, ED)
    const f = withBias
      ? (a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(conv(a, b, e), dy)) // scalar
      : (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b, null), dy)); // scalar
    const gs = tf.grads(f)(withBias ? [x, w, bias] : [x, w]); // (B, L, ED), (K, ED)[, (ED)]
    return [yOut, ...gs];
  });
  expect(y.shape).toEqual([B, L, ED]);
  expect(grads[0].shape).toEqual([B, L, ED]);
  expect(grads[1].shape).toEqual([K, ED]);
  if (withBias) expect(grads[2].shape).toEqual([ED]);
  const out = { y: (await y.data()) as Float32Array, grads: (await Promise.all(grads.map((g) => g.data()))) as Float32Array[] };
  tf.dispose([y, ...grads]);
  return out;
}


useScanWasmSuite();

describe('registration', () => {
  test('kernels are registered on cpu, wasm and webgpu (WGSL, fusedConvWebgpu.ts) with a gradient; absent elsewhere', () => {
    for (const be of ['cpu', 'wasm', 'webgpu']) {
      expect(tf.getKernel(CONV_KERNEL, be)).toBeDefined();
      expect(tf.getKernel(CONV_GRAD_KERNEL, be)).toBeDefined();
      expect(hasConvKernel(be)).toBe(true);
    }
    expect(tf.getGradient(CONV_KERNEL)).toBeDefined();
    expect(hasConvKernel('webgl')).toBe(false);
    expect(hasConvKernel('no-such-backend')).toBe(false);
    expect(hasConvKernel()).toBe(['cpu', 'wasm', 'webgpu'].includes(tf.getBackend()));
  });
});

describe('JS loops (convMath) and SIMD path (convWasm)', () => {
  test('scan.wasm is active, and the env var switches to the JS loops at run time', () => {
    expect(scanKernelImpl()).toBe('wasm-simd');
    withJsImpl(() => expect(scanKernelImpl()).toBe('js'));
    expect(scanKernelImpl()).toBe('wasm-simd');
  });

  test.each(SHAPES.map((d, i) => [label(d), d, i] as const))('%s: forward/backward, SIMD = JS = float64 reference', (_, d, i) => {
    const c = makeCase(d, 100 + i);
    const nE = d.B * d.L * d.ED;
    const ref = refForward(c);
    const g = refBackward(c);

    const yJs = new Float32Array(nE); // (B, L, ED)
    convForward(c.x, c.w, c.bias, d, yJs);
    expectRelClose(yJs, ref, RTOL, 'convMath forward');

    const ySimd = new Float32Array(nE).fill(NaN); // (B, L, ED) every element must be written
    convForwardFast(c.x, c.w, c.bias, d, ySimd);
    const yForcedJs = new Float32Array(nE).fill(NaN); // (B, L, ED)
    withJsImpl(() => convForwardFast(c.x, c.w, c.bias, d, yForcedJs));
    expectRelClose(ySimd, ref, RTOL, 'SIMD forward');
    expect(Array.from(yForcedJs)).toEqual(Array.from(yJs)); // MAMBA_TFJS_SCAN_IMPL=js runs convMath exactly
    expectRelClose(ySimd, yForcedJs, RTOL, 'SIMD vs JS forward');

    // Outputs prefilled with garbage: each implementation must overwrite (not accumulate into) them.
    const fresh = () => ({
      dx: new Float32Array(nE).fill(7), // (B, L, ED)
      dw: new Float32Array(d.K * d.ED).fill(7), // (K, ED)
      db: new Float32Array(d.ED).fill(7), // (ED)
    });
    const js = fresh();
    convBackward(c.x, c.w, c.dy, d, js.dx, js.dw, js.db);
    const simd = fresh();
    convBackwardFast(c.x, c.w, c.dy, d, simd.dx, simd.dw, simd.db);
    const forced = fresh();
    withJsImpl(() => convBackwardFast(c.x, c.w, c.dy, d, forced.dx, forced.dw, forced.db));
    for (const [name, got, want] of [['dx', 'dx', g.dx], ['dw', 'dw', g.dw], ['dbias', 'db', g.dbias]] as const) {
      expectRelClose(js[got], want, RTOL, `convMath ${name}`);
      expectRelClose(simd[got], want, RTOL, `SIMD ${name}`);
      expect(Array.from(forced[got])).toEqual(Array.from(js[got]));
      expectRelClose(simd[got], forced[got], RTOL, `SIMD vs JS ${name}`);
    }
  });

  test('SIMD path: repeated calls of different sizes reuse the module memory correctly', () => {
    // A large call then a small one: the small one must not see stale data from the large one.
    for (const [i, d] of [{ B: 4, L: 300, ED: 64, K: 4 }, { B: 1, L: 3, ED: 5, K: 4 }, { B: 4, L: 300, ED: 64, K: 4 }].entries()) {
      const c = makeCase(d, 300 + i);
      const y = new Float32Array(d.B * d.L * d.ED); // (B, L, ED)
      convForwardFast(c.x, c.w, c.bias, d, y);
      expectRelClose(y, refForward(c), RTOL, `forward ${label(d)}`);
      const dx = new Float32Array(d.B * d.L * d.ED); // (B, L, ED)
      const dw = new Float32Array(d.K * d.ED); // (K, ED)
      const db = new Float32Array(d.ED); // (ED)
      convBackwardFast(c.x, c.w, c.dy, d, dx, dw, db);
      const g = refBackward(c);
      expectRelClose(dx, g.dx, RTOL, `dx ${label(d)}`);
      expectRelClose(dw, g.dw, RTOL, `dw ${label(d)}`);
      expectRelClose(db, g.dbias, RTOL, `dbias ${label(d)}`);
    }
  });
});

/** The checks shared by both backends. */
function suite(backend: string): void {
  test.each(SHAPES.map((d, i) => [label(d), d, i] as const))(`${backend}: %s: causalConv forward and tf.grads = float64 reference = causalDepthwiseConv`, async (_, d, i) => {
    await onBackend(backend, async () => {
      expect(hasConvKernel()).toBe(true);
      const c = makeCase(d, 200 + i);
      const ref = refForward(c);
      const g = refBackward(c);
      const fused = await runConv(causalConv, c);
      expectRelClose(fused.y, ref, RTOL, 'forward');
      expectRelClose(fused.grads[0], g.dx, RTOL, 'dx');
      expectRelClose(fused.grads[1], g.dw, RTOL, 'dweight');
      expectRelClose(fused.grads[2], g.dbias, RTOL, 'dbias');
      const comp = await runConv(causalDepthwiseConv, c);
      expectRelClose(fused.y, comp.y, RTOL, 'forward vs composite');
      for (let j = 0; j < 3; j++) expectRelClose(fused.grads[j], comp.grads[j], RTOL, `grad ${j} vs composite`);
    });
  });

  test(`${backend}: SIMD and JS paths agree through the kernel (env toggled at run time)`, async () => {
    await onBackend(backend, async () => {
      const c = makeCase({ B: 2, L: 37, ED: 130, K: 4 }, 7);
      const simd = await runConv(causalConv, c);
      // runConv is async, so withJsImpl cannot wrap it: toggle by hand.
      setEnvFlag(SCAN_IMPL_FLAG, 'js');
      let js: Awaited<ReturnType<typeof runConv>>;
      try {
        js = await runConv(causalConv, c);
      } finally {
        setEnvFlag(SCAN_IMPL_FLAG, undefined);
      }
      expectRelClose(simd.y, js.y, RTOL, 'forward SIMD vs JS');
      for (let j = 0; j < 3; j++) expectRelClose(simd.grads[j], js.grads[j], RTOL, `grad ${j} SIMD vs JS`);
    });
  });

  test(`${backend}: bias null: forward without bias, gradients for x and weight`, async () => {
    await onBackend(backend, async () => {
      for (const [i, d] of [{ B: 2, L: 11, ED: 130, K: 4 }, { B: 1, L: 2, ED: 5, K: 4 }].entries()) {
        const c = makeCase(d, 400 + i);
        const g = refBackward(c); // dx, dw do not depend on the bias
        const fused = await runConv(causalConv, c, false);
        expect(fused.grads).toHaveLength(2);
        expectRelClose(fused.y, refForward(c, false), RTOL, 'forward, no bias');
        expectRelClose(fused.grads[0], g.dx, RTOL, 'dx, no bias');
        expectRelClose(fused.grads[1], g.dw, RTOL, 'dweight, no bias');
        const comp = await runConv(causalDepthwiseConv, c, false);
        expectRelClose(fused.y, comp.y, RTOL, 'forward vs composite, no bias');
        // undefined bias behaves as null
        const y2 = tf.tidy(() => causalConv(tf.tensor3d(c.x, [d.B, d.L, d.ED]), tf.tensor2d(c.w, [d.K, d.ED]))); // (B, L, ED)
        expectRelClose(await y2.data(), refForward(c, false), RTOL, 'forward, bias undefined');
        y2.dispose();
      }
    });
  });

  test(`${backend}: int32 inputs are cast to float32`, async () => {
    await onBackend(backend, async () => {
      const y = tf.tidy(() => causalConv(
        tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 3, 2], 'int32'), // (B, L, ED)
        tf.tensor2d([1, 10, 100, 1000], [2, 2], 'int32'), // (K, ED)
        tf.tensor1d([0.5, -0.5]), // (ED)
      )); // (B, L, ED)
      expect(y.dtype).toBe('float32');
      // t0: [1*100+0.5, 2*1000-0.5]; t1: [1*1+3*100+0.5, 2*10+4*1000-0.5]; t2: [3+500+0.5, 40+6000-0.5]
      expect(Array.from(await y.data())).toEqual([100.5, 1999.5, 301.5, 4019.5, 503.5, 6039.5]);
      y.dispose();
    });
  });

  test(`${backend}: bad shapes throw an error naming the expected shapes`, async () => {
    await onBackend(backend, async () => {
      const msg = /causalConv: expected x \(B, L, ED\), weight \(K, ED\) and bias \(ED\), got/;
      const bad: [number[], number[], number[] | null][] = [
        [[2, 5, 4], [3, 5], [4]], // weight ED mismatch
        [[2, 5, 4], [3, 4], [5]], // bias ED mismatch
        [[2, 5, 4], [3, 4], [1, 4]], // bias rank 2
        [[10, 4], [3, 4], [4]], // x rank 2
        [[1, 2, 5, 4], [3, 4], [4]], // x rank 4
        [[2, 5, 4], [12], null], // weight rank 1
        [[2, 5, 4], [1, 3, 4], null], // weight rank 3
      ];
      const before = tf.memory().numTensors;
      for (const [xs, ws, bs] of bad) {
        tf.tidy(() => {
          const x = tf.zeros(xs); // (B, L, ED) or wrong
          const w = tf.zeros(ws); // (K, ED) or wrong
          const b = bs ? tf.zeros(bs) : null; // (ED) or wrong
          expect(() => causalConv(x, w, b)).toThrow(msg);
        });
      }
      let err = '';
      tf.tidy(() => {
        try {
          causalConv(tf.zeros([2, 5, 4]), tf.zeros([3, 5]), tf.zeros([4])); // (B, L, ED), (K, 5), (ED)
        } catch (e) {
          err = (e as Error).message;
        }
      });
      expect(err).toContain('got [2,5,4], [3,5], [4]');
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  test(`${backend}: direct runKernel rejects non-float32 inputs`, async () => {
    await onBackend(backend, async () => {
      tf.tidy(() => {
        const inputs = {
          x: tf.zeros([1, 3, 2], 'int32'), // (B, L, ED)
          weight: tf.zeros([2, 2]), // (K, ED)
          bias: tf.zeros([2]), // (ED)
        };
        expect(() => tf.engine().runKernel(CONV_KERNEL, inputs)).toThrow(/MambaCausalConv1d: input 'x' must be float32, got int32/);
      });
    });
  });

  test(`${backend}: direct runKernel rejects a weight, bias or dy that does not fit x`, async () => {
    await onBackend(backend, async () => {
      tf.tidy(() => {
        const x = tf.ones([1, 3, 4]); // (B, L, ED)
        const bad = [
          { x, weight: tf.ones([2, 6]), bias: tf.ones([4]) }, // weight (K, ED') with ED' != ED
          { x, weight: tf.ones([2, 4]), bias: tf.ones([3]) }, // bias (ED') with ED' != ED
          { x, weight: tf.ones([8]), bias: tf.ones([4]) }, // weight of rank 1
        ];
        for (const inputs of bad) expect(() => tf.engine().runKernel(CONV_KERNEL, inputs)).toThrow(/MambaCausalConv1d: expected x \(B, L, ED\), weight \(K, ED\), bias \(ED\)/);
        const dy = tf.ones([1, 2, 4]); // (B, L', ED): L' != L
        expect(() => tf.engine().runKernel(CONV_GRAD_KERNEL, { x, weight: tf.ones([2, 4]), bias: tf.ones([4]), dy })).toThrow(/and dy like x/);
      });
    });
  });

  test(`${backend}: forward + backward leaves numTensors unchanged`, async () => {
    await onBackend(backend, async () => {
      const d = { B: 2, L: 37, ED: 130, K: 4 };
      const c = makeCase(d, 9);
      const x = tf.tensor3d(c.x, [d.B, d.L, d.ED]); // (B, L, ED)
      const w = tf.tensor2d(c.w, [d.K, d.ED]); // (K, ED)
      const bias = tf.tensor1d(c.bias); // (ED)
      const dy = tf.tensor3d(c.dy, [d.B, d.L, d.ED]); // (B, L, ED)
      const before = tf.memory().numTensors;
      const bytesBefore = tf.memory().numBytes;
      for (let rep = 0; rep < 3; rep++) {
        const outs = tf.tidy(() => {
          const y = causalConv(x, w, bias); // (B, L, ED)
          const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(causalConv(a, b, e), dy)))([x, w, bias]);
          return [y, ...gs]; // (B, L, ED), (B, L, ED), (K, ED), (ED)
        });
        expect(tf.memory().numTensors).toBe(before + 4);
        tf.dispose(outs);
        expect(tf.memory().numTensors).toBe(before);
        expect(tf.memory().numBytes).toBe(bytesBefore);
        // the no-bias variant too
        tf.tidy(() => {
          tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(causalConv(a, b, null), dy)))([x, w]);
        });
        expect(tf.memory().numTensors).toBe(before);
      }
      tf.dispose([x, w, bias, dy]);
    });
  });
}

describe('cpu', () => {
  suite('cpu');
});

describe('wasm', () => {
  suite('wasm');
});

describe('fallback', () => {
  test('without the kernel on the active backend, causalConv falls back to causalDepthwiseConv', async () => {
    await onBackend('cpu', async () => {
      const fwd = tf.getKernel(CONV_KERNEL, 'cpu');
      expect(fwd).toBeDefined();
      tf.unregisterKernel(CONV_KERNEL, 'cpu');
      try {
        expect(hasConvKernel()).toBe(false);
        const c = makeCase({ B: 2, L: 6, ED: 5, K: 4 }, 11);
        const out = await runConv(causalConv, c);
        expectRelClose(out.y, refForward(c), RTOL, 'fallback forward');
        const g = refBackward(c);
        expectRelClose(out.grads[0], g.dx, RTOL, 'fallback dx');
        expectRelClose(out.grads[1], g.dw, RTOL, 'fallback dweight');
        expectRelClose(out.grads[2], g.dbias, RTOL, 'fallback dbias');
      } finally {
        tf.registerKernel(fwd as tf.KernelConfig);
      }
      expect(hasConvKernel()).toBe(true);
    });
  });
});
