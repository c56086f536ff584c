/**
 * tfjs's threaded wasm build in Node (src/node/wasmThreads.ts), in child processes over the built package (dist/:
 * `npm run build` first): with MAMBA_TFJS_WASM_THREADS=2 the backend starts XNNPACK with 2 threads, a matmul equals the
 * single-threaded build's bit for bit (XNNPACK splits over output tiles, each summed as on one thread) and the cpu
 * backend's within float32 rounding, and the process exits on its own (the pthread workers hold no reference).
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { rng, uniformArray } from './helpers/random';

const root = path.join(__dirname, '..');
const r = rng(3);
const a = uniformArray(r, 256 * 128, -1, 1); // (256, 128)
const b = uniformArray(r, 128 * 96, -1, 1); // (128, 96)

/** Threads and matmul result of a fresh process on wasm with MAMBA_TFJS_WASM_THREADS = `threads`. */
function runChild(threads: string): { threads: number; c: number[] } {
  const program = `
    const tf = require('@tensorflow/tfjs-core');
    const m = require(${JSON.stringify(path.join(root, 'dist', 'node.js'))});
    const [a, b] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    m.selectBackend('wasm').then(async () => {
      const c = tf.matMul(tf.tensor2d(a, [256, 128]), tf.tensor2d(b, [128, 96]));
      const threads = require('@tensorflow/tfjs-backend-wasm').getThreadsCount();
      process.stdout.write(JSON.stringify({ threads, c: Array.from(await c.data()) }));
    });`; // no process.exit: the child must end by itself
  const out = execFileSync(process.execPath, ['-e', program], {
    cwd: root, input: JSON.stringify([Array.from(a), Array.from(b)]), timeout: 90000,
    env: { ...process.env, MAMBA_TFJS_WASM_THREADS: threads }, encoding: 'utf8',
  });
  return JSON.parse(out);
}

test('MAMBA_TFJS_WASM_THREADS=2 runs tfjs wasm on 2 threads with the single-threaded results, and the process ends', () => {
  const two = runChild('2');
  const one = runChild('1');
  expect(two.threads).toBe(2);
  expect(one.threads).toBe(1);
  expect(Float32Array.from(two.c)).toEqual(Float32Array.from(one.c));
  const ref = tf.tidy(() => tf.matMul(tf.tensor2d(a, [256, 128]), tf.tensor2d(b, [128, 96])).dataSync()); // cpu
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(two.c[i] - ref[i]));
  expect(worst).toBeLessThan(1e-4); // sums of 128 products of values in [-1, 1], float32
});

/** Greedy decoding of a small MambaLM (float32, then int8) in a fresh process with MAMBA_TFJS_WASM_THREADS = `threads`. */
function decodeChild(threads: string): { heapKernels: boolean; shared: boolean; f32: number[]; int8: number[]; scores: number[]; int8Scores: number[]; jobs: number } {
  const program = `
    const m = require(${JSON.stringify(path.join(root, 'dist', 'node.js'))});
    const { mixerStepAvailable } = require(${JSON.stringify(path.join(root, 'dist', 'ops', 'kernels', 'mixerStep.js'))});
    const { heapPoolStats } = require(${JSON.stringify(path.join(root, 'dist', 'ops', 'kernels', 'simd', 'heapParallel.js'))});
    m.selectBackend('wasm').then(async () => {
      const tf = require('@tensorflow/tfjs-core');
      const memory = tf.backend().wasm.wasmMemory || tf.backend().wasm.asm.memory;
      // d_model 256, vocab 1024: in_proj and the head are large enough (2^18 multiply-adds) to split over threads.
      const model = m.createMambaLM({ vocabSize: 1024, dModel: 256, nLayers: 2, seed: 5 });
      const run = async (lm) => m.generate(m.findMambaLM(lm), [[3, 7, 1]], { maxNewTokens: 12, temperature: 'greedy', returnScores: true });
      const f32 = await run(model);
      const int8 = await run(m.quantize(model));
      process.stdout.write(JSON.stringify({ heapKernels: mixerStepAvailable(), shared: memory.buffer instanceof SharedArrayBuffer,
        f32: f32.sequences[0], int8: int8.sequences[0], scores: Array.from(f32.scores[11]), int8Scores: Array.from(int8.scores[11]),
        jobs: heapPoolStats.jobs }));
    });`;
  const out = execFileSync(process.execPath, ['-e', program], {
    // MAMBA_TFJS_THREADS 2: the heap pool's size (the test setup sets 1 for the suite).
    cwd: root, timeout: 90000, env: { ...process.env, MAMBA_TFJS_WASM_THREADS: threads, MAMBA_TFJS_THREADS: '2' }, encoding: 'utf8',
  });
  return JSON.parse(out);
}

test('with MAMBA_TFJS_WASM_THREADS=2 (a shared heap) the in-heap SIMD decoding kernels run, split over threads, with the results of one thread bit for bit', () => {
  const two = decodeChild('2');
  const one = decodeChild('1');
  expect(two.shared).toBe(true);
  expect(one.shared).toBe(false);
  expect(two.heapKernels).toBe(true); // before: the module could not import a shared memory, and the JS loops ran
  expect(one.heapKernels).toBe(true);
  expect(two.jobs).toBeGreaterThan(0); // the heap pool split the products
  expect(one.jobs).toBe(0); // no shared heap, no heap pool
  expect(two.f32.length).toBe(15);
  expect(two.f32).toEqual(one.f32);
  expect(two.int8).toEqual(one.int8);
  expect(two.scores).toEqual(one.scores);
  expect(two.int8Scores).toEqual(one.int8Scores);
});

/** A transpose, a column sum, the fused gate backward (MambaGateGrad), softplus and the RMS norm forward and backward, each large enough to split, in a fresh process with MAMBA_TFJS_WASM_THREADS = `threads`. */
function layoutChild(threads: string, x: Float32Array, R: number, C: number): { t: number[]; s: number[]; jobs: number; g: number[][]; gateJobs: number } {
  const program = `
    const m = require(${JSON.stringify(path.join(root, 'dist', 'node.js'))});
    const { heapPoolStats } = require(${JSON.stringify(path.join(root, 'dist', 'ops', 'kernels', 'simd', 'heapParallel.js'))});
    const x = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    m.selectBackend('wasm').then(async () => {
      const tf = require('@tensorflow/tfjs-core');
      const xt = tf.tensor2d(x, [${R}, ${C}]);
      const t = Array.from(await tf.transpose(xt).data());
      const s = Array.from(await tf.sum(xt, 0).data());
      const jobs = heapPoolStats.jobs;
      const gate = tf.engine().runKernel('MambaGateGrad', { z: tf.mul(xt, 8), y: tf.reverse(xt, 0), dg: tf.reverse(xt, 1) });
      const sp = tf.engine().runKernel('MambaSoftplus', { x: tf.mul(xt, 30) });
      const rms = tf.engine().runKernel('MambaRmsNormalize', { x: xt }, { eps: 1e-5 });
      const rmsGrad = tf.engine().runKernel('MambaRmsNormalizeGrad', { x: xt, dy: tf.reverse(xt, 0) }, { eps: 1e-5 });
      const g = await Promise.all([...gate, sp, rms, rmsGrad].map(async (o) => Array.from(await o.data())));
      process.stdout.write(JSON.stringify({ t, s, jobs, g, gateJobs: heapPoolStats.jobs - jobs }));
    });`;
  const out = execFileSync(process.execPath, ['-e', program], {
    cwd: root, input: JSON.stringify(Array.from(x)), timeout: 90000, encoding: 'utf8', maxBuffer: 1 << 26,
    env: { ...process.env, MAMBA_TFJS_WASM_THREADS: threads, MAMBA_TFJS_THREADS: '2' },
  });
  return JSON.parse(out);
}

test('with a shared heap, Transpose, leading-axes Sum, the gates, softplus and the RMS norm split over the heap pool with the results of one thread bit for bit', () => {
  const [R, C] = [301, 259]; // neither a multiple of 4 nor of the 16-row chunks
  const x = uniformArray(rng(9), R * C, -1, 1); // (R, C)
  const two = layoutChild('2', x, R, C);
  const one = layoutChild('1', x, R, C);
  expect(two.jobs).toBe(2); // one job each
  expect(one.jobs).toBe(0);
  expect(Float32Array.from(two.t)).toEqual(Float32Array.from(one.t));
  expect(Float32Array.from(two.s)).toEqual(Float32Array.from(one.s));
  expect(two.gateJobs).toBe(4); // the gate backward, softplus, the RMS norm and its gradient
  expect(one.gateJobs).toBe(0);
  for (let k = 0; k < 6; k++) expect(Float32Array.from(two.g[k])).toEqual(Float32Array.from(one.g[k]));
  const ref: number[] = []; // (C, R)
  for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) ref.push(x[r * C + c]);
  expect(Float32Array.from(two.t)).toEqual(Float32Array.from(ref));
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let r = 0; r < R; r++) s += x[r * C + c];
    expect(two.s[c]).toBe(Math.fround(s)); // float64 sums in row order, rounded once
  }
});
