#!/usr/bin/env node
/**
 * The products of a train step's backward pass on webgpu, each way src/ops/linear/matMul.ts could run them:
 * - aᵀ @ b (weight gradients, a (K, M), b (K, O), K = B·L): tfjs's transposeA flag, an explicit transpose, and K cut
 *   into S slices multiplied as a batch and summed (matMulTASplit), for S = 4 … 128; kSplit's pick is marked;
 * - a @ bᵀ (input gradients, b a weight (O, K)): tfjs's transposeB flag, b transposed first;
 * - the loss reduction mean(y²) over (8, 4096, 256): whole, and in two stages (benchmarks/lib.js meanSquare).
 * Shapes: Mamba(256, 4 layers) at B 8, L 1024 and 4096, and mamba.py's speed-chart model (16, 1 layer) at L 4096.
 * Each variant: wall ms per call over 20 calls in a row (dispatch included), and its GPU ms from tfjs-webgpu's
 * timestamp queries (one profiled call; Dawn's timestamp quantization off).
 *
 *   GPU machine: bash .device/gpu-run.sh node benchmarks/webgpuMatmul.js $OUT/webgpu-matmul.json
 */
'use strict';
const fs = require('fs');
const { tf, mamba, machine, webgpuWithTimestamps } = require('./lib');
const { kSplit, matMulTASplit } = require('../dist/ops/linear/matMul.js');

const out = process.argv[2];
const log = (s) => process.stderr.write(`webgpuMatmul: ${s}\n`);

/** { wallMs, gpuMs } of fn (which returns a tensor), after 3 warm-up calls. */
async function timeOp(fn, reps = 20) {
  for (let i = 0; i < 3; i++) {
    const r = fn();
    await r.data();
    r.dispose();
  }
  const t0 = performance.now();
  let last = null;
  for (let i = 0; i < reps; i++) {
    if (last) last.dispose();
    last = fn();
  }
  await last.data();
  last.dispose();
  const wallMs = (performance.now() - t0) / reps;
  const info = await tf.profile(() => fn());
  tf.dispose(info.result);
  const gpuMs = info.kernels.reduce((s, k) => s + (Number(k.kernelTimeMs) || 0), 0);
  return { wallMs: +wallMs.toFixed(4), gpuMs: +gpuMs.toFixed(4) };
}

async function main() {
  webgpuWithTimestamps();
  await mamba.selectBackend('webgpu');
  const result = { date: new Date().toISOString(), machine: machine(), timestampQuery: tf.backend().supportTimestampQuery, ta: [], tb: [], mean: null };
  const TA = [[32768, 256, 1024], [32768, 512, 256], [32768, 512, 48], [32768, 16, 512], [8192, 256, 1024], [8192, 512, 256], [8192, 512, 48], [8192, 16, 512], [4096, 16, 64], [4096, 32, 16], [4096, 32, 33], [4096, 1, 32]];
  for (const [k, m, o] of TA) {
    const a = tf.randomNormal([k, m]);
    const b = tf.randomNormal([k, o]);
    const row = { K: k, M: m, O: o, kSplit: kSplit(k, m, o), flag: await timeOp(() => tf.matMul(a, b, true, false)), transpose: await timeOp(() => tf.tidy(() => tf.matMul(tf.transpose(a), b))) };
    for (const s of [4, 8, 16, 32, 64, 128]) if (k % s === 0) row[`split${s}`] = await timeOp(() => matMulTASplit(a, b, s));
    log(JSON.stringify(row));
    result.ta.push(row);
    tf.dispose([a, b]);
  }
  const TB = [[32768, 1024, 256], [32768, 256, 512], [32768, 48, 512], [32768, 512, 16], [8192, 1024, 256], [8192, 256, 512], [4096, 64, 16], [4096, 33, 32]];
  for (const [m, k, o] of TB) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([o, k]);
    const row = { M: m, K: k, O: o, flag: await timeOp(() => tf.matMul(a, b, false, true)), transposeFirst: await timeOp(() => tf.tidy(() => tf.matMul(a, tf.transpose(b)))) };
    log(JSON.stringify(row));
    result.tb.push(row);
    tf.dispose([a, b]);
  }
  const y = tf.randomNormal([8, 4096, 256]);
  result.mean = { shape: y.shape, whole: await timeOp(() => tf.mean(tf.square(y))), twoStages: await timeOp(() => tf.tidy(() => tf.mean(tf.mean(tf.square(y), -1)))) };
  log(JSON.stringify(result.mean));
  y.dispose();
  const text = JSON.stringify(result, null, 1);
  if (out) fs.writeFileSync(out, text);
  else console.log(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
