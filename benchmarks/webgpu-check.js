#!/usr/bin/env node
/**
 * Checks and times the webgpu fused selective scan (dist/ops/kernels/webgpu/scan.js).
 *
 *   npm run build && node benchmarks/webgpu-check.js [out.json]
 *
 * Shapes: B batch, L length, ED inner channels, N state size.
 *
 * 1. Correctness: for several (B, L, ED, N) the forward y and all six gradients of
 *    sum(y * w), taken with tf.grads through fusedSelectiveScan on the webgpu
 *    backend, are compared with fusedScanMath's float64-accumulating loops (the cpu
 *    kernel's arithmetic). Error = max|gpu - ref| / max|ref| per output.
 *    Every shape runs in both modes of the flag MAMBA_TFJS_WEBGPU_SCAN_MODE ('chunked', 'sequential');
 *    a few more chunk lengths T run on two shapes.
 * 2. Timing: forward, backward kernel, and forward+backward (tf.grads) wall time,
 *    synchronised by reading back a scalar, for the shapes in PERF_SHAPES and the
 *    tunings in PERF_TUNINGS; baselines: the tf-op 'pscan' selective scan on webgpu
 *    and the fused cpu kernel (first shape only).
 *
 * Results go to argv[2] as JSON (default: stdout); a summary goes to stderr.
 * Env: WEBGPU_CHECK_QUICK=1 swaps the timing shapes for small ones (software GPUs);
 * WEBGPU_CHECK_LEAN=1 runs only a few checks and the chunked tunings (a short GPU run);
 * WEBGPU_CHECK_BASELINES=0 skips the baselines.
 * Exit code: 0 when every check passes, 1 otherwise.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const gpu = require('webgpu');
Object.assign(globalThis, gpu.globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: gpu.create([]) }, configurable: true, writable: true });

const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-webgpu');
const mamba = require('..'); // registers the kernels
const dist = path.join(__dirname, '..', 'dist', 'ops');
const { fusedSelectiveScan } = mamba;
const { fusedScanForward, fusedScanBackward } = require(path.join(dist, 'kernels', 'js', 'scanMath.js'));
const { selectiveScan } = mamba;
const { flags } = mamba;
/** The WGSL scan's tuning flags, read and set as one object. */
const webgpuScanTuning = () => flags.webgpuScanTuning();
function setTuning(t) {
  if (t.mode !== undefined) tf.env().set(flags.WEBGPU_SCAN_MODE_FLAG, t.mode);
  if (t.chunk !== undefined) tf.env().set(flags.WEBGPU_SCAN_CHUNK_FLAG, t.chunk);
  if (t.unroll !== undefined) tf.env().set(flags.WEBGPU_SCAN_UNROLL_FLAG, t.unroll);
}
const { logUniform, rng, uniformArray } = require('./random');

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

const QUICK = process.env.WEBGPU_CHECK_QUICK === '1';
const LEAN = process.env.WEBGPU_CHECK_LEAN === '1';
/** Correctness shapes [B, L, ED, N]: the brief's L in {1, 37, 100, 1024} at N 16, plus ED off the workgroup width and other N. */
const CHECK_SHAPES = [
  [2, 1, 24, 16],
  [2, 37, 24, 16],
  [3, 100, 70, 16],
  [2, 1024, 64, 16],
  [1, 33, 130, 1],
  [2, 50, 40, 8],
  [2, 40, 20, 33],
  [1, 70, 48, 64],
];
/** Tunings every correctness shape runs under. */
const CHECK_TUNINGS = [
  { mode: 'chunked', chunk: 32, unroll: false },
  { mode: 'sequential', chunk: 16, unroll: false },
];
/** More tunings, run on EXTRA_TUNING_SHAPES only (chunk 64 is lowered to 15 at N = 64). */
const EXTRA_TUNINGS = [
  { mode: 'chunked', chunk: 1, unroll: false },
  { mode: 'chunked', chunk: 7, unroll: false },
  { mode: 'chunked', chunk: 64, unroll: false },
  { mode: 'sequential', chunk: 5, unroll: false },
  { mode: 'chunked', chunk: 32, unroll: true },
  { mode: 'sequential', chunk: 16, unroll: true },
];
const EXTRA_TUNING_SHAPES = [[3, 100, 70, 16], [1, 70, 48, 64]];
/** Timing shapes [B, L, ED, N]. */
const PERF_SHAPES = QUICK ? [[1, 128, 128, 16]] : [[1, 1024, 1024, 16], [8, 4096, 512, 16]];
/** Tunings timed on every timing shape. */
const PERF_TUNINGS = LEAN
  ? [
    { mode: 'chunked', chunk: 32, unroll: false },
    { mode: 'chunked', chunk: 32, unroll: true },
    { mode: 'chunked', chunk: 16, unroll: true },
    { mode: 'chunked', chunk: 64, unroll: true },
  ]
  : [
    { mode: 'chunked', chunk: 16, unroll: false },
    { mode: 'chunked', chunk: 32, unroll: false },
    { mode: 'chunked', chunk: 16, unroll: true },
    { mode: 'chunked', chunk: 32, unroll: true },
    { mode: 'sequential', chunk: 16, unroll: false },
  ];
/** The default tuning, restored after the sweeps. */
const DEFAULT_TUNING = webgpuScanTuning();
/** Relative error bounds (float32 on the GPU vs float64 sums). */
const TOL = { y: 1e-4, grad: 1e-3 };

/** Random case like Mamba's: delta log-uniform in [1e-3, 0.1] (10% up to 1), A = -(1..N), x/B/C/w in [-1, 1]. */
function makeCase([B, L, ED, N], seed) {
  const r = rng(seed);
  const uni = (n) => uniformArray(r, n);
  return {
    dims: { B, L, ED, N },
    x: uni(B * L * ED), // (B, L, ED)
    delta: Float32Array.from({ length: B * L * ED }, () => (r() < 0.1 ? 0.1 + 0.9 * r() : logUniform(r, 1e-3, 0.1))), // (B, L, ED)
    A: Float32Array.from({ length: ED * N }, (_, k) => -((k % N) + 1) * (0.9 + 0.2 * r())), // (ED, N)
    Bm: uni(B * L * N), // (B, L, N)
    Cm: uni(B * L * N), // (B, L, N)
    D: uni(ED), // (ED)
    w: uni(B * L * ED), // (B, L, ED) upstream gradient
  };
}

/** The case's arrays as webgpu tensors [x, delta, A, B, C, D, w]. */
function tensorsOf(c) {
  const { B, L, ED, N } = c.dims;
  return [
    tf.tensor3d(c.x, [B, L, ED]),
    tf.tensor3d(c.delta, [B, L, ED]),
    tf.tensor2d(c.A, [ED, N]),
    tf.tensor3d(c.Bm, [B, L, N]),
    tf.tensor3d(c.Cm, [B, L, N]),
    tf.tensor1d(c.D),
    tf.tensor3d(c.w, [B, L, ED]),
  ];
}

/** max|a - b| / max|b|. */
function relErr(a, b) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    d = Number.isNaN(e) ? Infinity : Math.max(d, e);
    m = Math.max(m, Math.abs(b[i]));
  }
  return b.length === 0 ? 0 : d / Math.max(m, 1e-30);
}

/** Loss whose gradients are the kernel's: sum(fusedSelectiveScan(...) * w). */
function lossOf(w) {
  return (x, delta, A, B, C, D) => tf.sum(tf.mul(fusedSelectiveScan(x, delta, A, B, C, D), w));
}

/** One correctness case on the active (webgpu) backend. */
async function checkShape(shape, seed) {
  const c = makeCase(shape, seed);
  const yRef = fusedScanForward(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.dims);
  const gRef = fusedScanBackward(c.x, c.delta, c.A, c.Bm, c.Cm, c.D, c.w, c.dims);
  const [x, delta, A, B, C, D, w] = tensorsOf(c);
  try {
    const y = fusedSelectiveScan(x, delta, A, B, C, D);
    const grads = tf.grads(lossOf(w))([x, delta, A, B, C, D]);
    const outs = await Promise.all([y, ...grads].map((t) => t.data()));
    tf.dispose([y, ...grads]);
    const names = ['y', 'dx', 'ddelta', 'dA', 'dB', 'dC', 'dD'];
    const refs = [yRef, gRef.dx, gRef.ddelta, gRef.dA, gRef.dB, gRef.dC, gRef.dD];
    const errors = {};
    let pass = true;
    names.forEach((n, i) => {
      errors[n] = relErr(outs[i], refs[i]);
      if (!(errors[n] <= (n === 'y' ? TOL.y : TOL.grad))) pass = false;
    });
    return { shape: { B: shape[0], L: shape[1], ED: shape[2], N: shape[3] }, errors, pass };
  } finally {
    tf.dispose([x, delta, A, B, C, D, w]);
  }
}

/** Runs `checkShape` and then checks that the webgpu backend holds no more data ids than before. */
async function checkShapeNoLeak(shape, seed) {
  const before = tf.engine().backend.numDataIds();
  const c = await checkShape(shape, seed);
  c.leakedDataIds = tf.engine().backend.numDataIds() - before;
  if (c.leakedDataIds !== 0) c.pass = false;
  return c;
}

/** Median wall time in ms of `iters` runs of `fn` (which returns tensors), synchronised on a scalar readback. */
async function timeIt(fn, iters) {
  const sync = async (ts) => {
    const s = tf.tidy(() => tf.addN(ts.map((t) => tf.sum(t))));
    await s.data();
    s.dispose();
  };
  const warm = fn();
  await sync(warm);
  tf.dispose(warm);
  const times = [];
  for (let k = 0; k < iters; k++) {
    const t0 = performance.now();
    const out = fn();
    await sync(out);
    times.push(performance.now() - t0);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** GPU time per kernel name (ms, from timestamp queries via tf.profile), or the profiler's error. */
async function kernelTimes(fn) {
  const info = await tf.profile(() => fn());
  tf.dispose(info.result);
  const out = {};
  for (const k of info.kernels) {
    const ms = k.kernelTimeMs;
    out[k.name] = typeof ms === 'number' ? (out[k.name] ?? 0) + ms : String(ms?.error ?? ms);
  }
  return out;
}

/** Times forward, backward kernel and forward+backward for one shape under the tuning in force. */
async function timeShape(shape) {
  const [Bn, L, ED, N] = shape;
  const r = rng(7);
  const rand = (n, lo, hi) => uniformArray(r, n, lo, hi);
  const x = tf.tensor3d(rand(Bn * L * ED, -1, 1), [Bn, L, ED]);
  const delta = tf.tensor3d(rand(Bn * L * ED, 1e-3, 0.1), [Bn, L, ED]);
  const A = tf.tensor2d(rand(ED * N, -N, -1), [ED, N]);
  const B = tf.tensor3d(rand(Bn * L * N, -1, 1), [Bn, L, N]);
  const C = tf.tensor3d(rand(Bn * L * N, -1, 1), [Bn, L, N]);
  const D = tf.tensor1d(rand(ED, -1, 1));
  const w = tf.tensor3d(rand(Bn * L * ED, -1, 1), [Bn, L, ED]);
  const iters = QUICK ? 2 : 5;
  try {
    const fwdMs = await timeIt(() => [fusedSelectiveScan(x, delta, A, B, C, D)], iters);
    const bwdMs = await timeIt(
      () => tf.engine().runKernel('MambaSelectiveScanGrad', { x, delta, A, B, C, D, dy: w }),
      iters,
    );
    const fwdBwdMs = await timeIt(() => tf.grads(lossOf(w))([x, delta, A, B, C, D]), iters);
    const syncOnlyMs = await timeIt(() => [tf.clone(x), tf.clone(delta)], iters); // the readback sync of two (B, L, ED) tensors
    const gpuMs = {
      fwd: await kernelTimes(() => [fusedSelectiveScan(x, delta, A, B, C, D)]),
      bwd: await kernelTimes(() => tf.engine().runKernel('MambaSelectiveScanGrad', { x, delta, A, B, C, D, dy: w })),
    };
    return { shape: { B: Bn, L, ED, N }, tuning: webgpuScanTuning(), fwdMs, bwdKernelMs: bwdMs, fwdBwdMs, syncOnlyMs, gpuMs };
  } finally {
    tf.dispose([x, delta, A, B, C, D, w]);
  }
}

/** Baselines for one shape: the tf-op pscan scan on webgpu, and the fused cpu kernel (1 run each after a warm-up). */
async function timeBaselines(shape) {
  const [Bn, L, ED, N] = shape;
  const r = rng(8);
  const rand = (n, lo, hi) => uniformArray(r, n, lo, hi);
  const data = [
    [rand(Bn * L * ED, -1, 1), [Bn, L, ED]],
    [rand(Bn * L * ED, 1e-3, 0.1), [Bn, L, ED]],
    [rand(ED * N, -N, -1), [ED, N]],
    [rand(Bn * L * N, -1, 1), [Bn, L, N]],
    [rand(Bn * L * N, -1, 1), [Bn, L, N]],
    [rand(ED, -1, 1), [ED]],
    [rand(Bn * L * ED, -1, 1), [Bn, L, ED]],
  ];
  const out = { shape: { B: Bn, L, ED, N } };
  const run = async (backend, scan, key) => {
    await tf.setBackend(backend);
    const ts = data.map(([v, s]) => tf.tensor(v, s));
    const [x, delta, A, B, C, D, w] = ts;
    const loss = (...args) => tf.sum(tf.mul(scan(...args), w));
    try {
      out[key + 'FwdMs'] = await timeIt(() => [scan(x, delta, A, B, C, D)], 1);
      out[key + 'FwdBwdMs'] = await timeIt(() => tf.grads(loss)([x, delta, A, B, C, D]), 1);
    } catch (e) {
      out[key + 'Error'] = String(e.message ?? e);
    } finally {
      tf.dispose(ts);
    }
  };
  try {
    await run('webgpu', (...a) => selectiveScan(...a, { mode: 'pscan' }), 'webgpuPscan');
    await run('cpu', (...a) => fusedSelectiveScan(...a), 'cpuFused');
  } finally {
    await tf.setBackend('webgpu');
  }
  return out;
}

async function main() {
  const outPath = process.argv[2];
  const ok = await tf.setBackend('webgpu');
  if (!ok || tf.getBackend() !== 'webgpu') throw new Error(`webgpu backend failed to initialize, got '${tf.getBackend()}'`);
  const be = tf.backend();
  const info = be.adapterInfo ?? {};
  const result = {
    backend: tf.getBackend(),
    adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description },
    tolerances: TOL,
    checks: [],
    timings: [],
    errors: [],
  };
  const runs = [];
  if (!LEAN) for (const shape of CHECK_SHAPES) for (const tuning of CHECK_TUNINGS) runs.push([shape, tuning]);
  for (const shape of EXTRA_TUNING_SHAPES) for (const tuning of EXTRA_TUNINGS) runs.push([shape, tuning]);
  for (const [i, [shape, tuning]] of runs.entries()) {
    setTuning(tuning);
    const tag = `[${shape}] ${tuning.mode} T=${tuning.chunk}${tuning.unroll ? ' unrolled' : ''}`;
    try {
      const c = await checkShapeNoLeak(shape, 100 + i);
      c.tuning = { ...tuning };
      result.checks.push(c);
      const errs = Object.entries(c.errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');
      console.error(`${c.pass ? 'PASS' : 'FAIL'} ${tag}: ${errs}, leaked data ids ${c.leakedDataIds}`);
    } catch (e) {
      result.checks.push({ shape: { B: shape[0], L: shape[1], ED: shape[2], N: shape[3] }, tuning, pass: false, error: String(e.stack ?? e) });
      console.error(`FAIL ${tag}: ${e.stack ?? e}`);
    }
  }
  for (const shape of PERF_SHAPES) {
    for (const tuning of PERF_TUNINGS) {
      setTuning(tuning);
      const tag = `[${shape}] ${tuning.mode} T=${tuning.chunk}${tuning.unroll ? ' unrolled' : ''}`;
      try {
        const t = await timeShape(shape);
        result.timings.push(t);
        console.error(
          `time ${tag}: fwd ${t.fwdMs.toFixed(2)} ms, bwd kernel ${t.bwdKernelMs.toFixed(2)} ms, ` +
          `fwd+bwd ${t.fwdBwdMs.toFixed(2)} ms, sync only ${t.syncOnlyMs.toFixed(2)} ms, gpu ${JSON.stringify(t.gpuMs)}`,
        );
      } catch (e) {
        result.errors.push({ shape, tuning, error: String(e.stack ?? e) });
        console.error(`time ${tag}: ERROR ${e.stack ?? e}`);
      }
    }
  }
  setTuning(DEFAULT_TUNING);
  if (process.env.WEBGPU_CHECK_BASELINES !== '0' && !LEAN) {
    try {
      result.baselines = await timeBaselines(PERF_SHAPES[0]);
      console.error(`baselines [${PERF_SHAPES[0]}]: ${JSON.stringify(result.baselines)}`);
    } catch (e) {
      result.errors.push({ baselines: true, error: String(e.stack ?? e) });
    }
  }
  result.allPass = result.checks.every((c) => c.pass) && result.errors.length === 0;
  console.error(result.allPass ? 'ALL PASS' : 'SOME FAILED');
  const json = JSON.stringify(result, null, 2);
  if (outPath) fs.writeFileSync(outPath, json + '\n');
  else process.stdout.write(json + '\n');
  return result.allPass;
}

main().then(
  (pass) => process.exit(pass ? 0 : 1),
  (e) => {
    console.error(e.stack ?? e);
    process.exit(1);
  },
);
