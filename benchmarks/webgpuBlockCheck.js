#!/usr/bin/env node
/**
 * Checks the fused residual block (src/ops/fusedBlock.ts: one op with a hand-written backward, recomputing on
 * webgpu) against the layer-by-layer ops on the webgpu backend, and both against the cpu backend: the loss
 * sum(stack(x) · w) and the gradient of every weight, for a few Mamba stacks. First, the WGSL conv kernels
 * (src/ops/fusedConvWebgpu.ts) against the composite conv (K shifted slices) on webgpu: output and gradients.
 *   npm run build && node benchmarks/webgpuBlockCheck.js [out.json]     (on the GPU machine: see webgpuTrain.js)
 * Then FlatAdam (its one-dispatch webgpu step) against tf.train.adam over 5 steps (passes under 1e-4).
 * Error = max |a − b| / max |b| per tensor; passes under 1e-4. Exit code 1 on a failure.
 */
const fs = require('fs');
const { tf, mamba } = require('./lib');

const CASES = [
  { dModel: 16, nLayers: 2, dState: 8, B: 2, L: 13 },
  { dModel: 64, nLayers: 2, dState: 16, B: 2, L: 300 },
  { dModel: 24, nLayers: 1, dState: 4, B: 1, L: 40, bias: true, convBias: false },
  // B·L = 8192 rows: the weight gradients take matMulTA's K-split path and the input gradients matMulTB's
  // transposed weights (src/ops/linear/matMul.ts).
  { dModel: 32, nLayers: 1, dState: 16, B: 2, L: 4096, bias: true },
];

/** Loss and gradients (name → Float32Array) of one stack on the active backend; fused: the block path or not. */
async function lossAndGrads(c, fused, weights) {
  tf.env().set('MAMBA_TFJS_FUSED_BLOCK', fused);
  const { B, L, ...cfg } = c;
  const layer = mamba.mambaLayer({ ...cfg, seed: 3 });
  const x = tf.randomNormal([B, L, c.dModel], 0, 1, 'float32', 5); // (B, L, D)
  const w = tf.randomNormal([B, L, c.dModel], 0, 1, 'float32', 6); // (B, L, D)
  tf.tidy(() => layer.apply(x));
  layer.trainableWeights.forEach((v, i) => v.write(tf.tensor(weights[i], v.shape))); // same weights everywhere
  const vars = layer.trainableWeights.map((v) => v.read());
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.call(x, {}), w)), vars);
  const out = { loss: (await value.data())[0], grads: await Promise.all(vars.map((v) => grads[v.name].data())) };
  tf.dispose([x, w, value, grads]);
  layer.dispose();
  return out;
}

function relErr(a, b) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

/** The webgpu conv kernels vs causalDepthwiseConv (tf ops) on webgpu: worst relative error of y, dx, dw, dbias. */
async function convCheck(B, L, ED, K) {
  const { causalConv } = require('../dist/ops/conv/causalConv');
  const { causalDepthwiseConv } = require('../dist/ops/conv/compositeConv');
  const x = tf.randomNormal([B, L, ED], 0, 1, 'float32', 1); // (B, L, ED)
  const w = tf.randomNormal([K, ED], 0, 1, 'float32', 2); // (K, ED)
  const b = tf.randomNormal([ED], 0, 1, 'float32', 3); // (ED)
  const gy = tf.randomNormal([B, L, ED], 0, 1, 'float32', 4); // (B, L, ED)
  const f = (conv) => (xx, ww, bb) => tf.sum(tf.mul(conv(xx, ww, bb), gy));
  const got = [causalConv(x, w, b), ...tf.grads(f(causalConv))([x, w, b])];
  const want = [causalDepthwiseConv(x, w, b), ...tf.grads(f(causalDepthwiseConv))([x, w, b])];
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, relErr(await got[i].data(), await want[i].data()));
  tf.dispose([x, w, b, gy, got, want]);
  return worst;
}

/**
 * FlatAdam (its webgpu MambaAdamStep kernel) against tf.train.adam on webgpu: 5 steps of a small stack from the same
 * weights, then the worst relative difference over the weights.
 */
async function adamCheck() {
  const c = { dModel: 24, nLayers: 2, dState: 8 };
  const x = tf.randomNormal([2, 33, c.dModel], 0, 1, 'float32', 9); // (B, L, D)
  const run = async (opt) => {
    const layer = mamba.mambaLayer({ ...c, seed: 4 });
    tf.tidy(() => layer.apply(x));
    const vars = layer.trainableWeights.map((v) => v.read());
    for (let i = 0; i < 5; i++) opt.minimize(() => tf.mean(tf.square(layer.call(x, {}))), false, vars);
    const out = await Promise.all(vars.map((v) => v.data()));
    layer.dispose();
    opt.dispose();
    return out;
  };
  const flat = await run(mamba.flatAdam(1e-3));
  const ref = await run(tf.train.adam(1e-3));
  x.dispose();
  return Math.max(...flat.map((w, i) => relErr(w, ref[i])));
}

async function main() {
  const rows = [];
  let ok = true;
  await mamba.selectBackend('webgpu');
  for (const [B, L, ED, K] of [[2, 37, 130, 4], [1, 2, 5, 4], [3, 9, 8, 1], [8, 4096, 512, 4]]) {
    const err = await convCheck(B, L, ED, K);
    const pass = err < 1e-5;
    ok = ok && pass;
    rows.push({ check: 'conv', B, L, ED, K, err, pass });
    console.error(`${pass ? 'PASS' : 'FAIL'} conv kernel vs composite on webgpu, B ${B} L ${L} ED ${ED} K ${K}: ${err.toExponential(2)}`);
  }
  const adamErr = await adamCheck();
  ok = ok && adamErr < 1e-4;
  rows.push({ check: 'flatAdam vs tf.train.adam, 5 steps', err: adamErr, pass: adamErr < 1e-4 });
  console.error(`${adamErr < 1e-4 ? 'PASS' : 'FAIL'} FlatAdam (MambaAdamStep) vs tf.train.adam on webgpu, 5 steps: ${adamErr.toExponential(2)}`);
  for (const c of CASES) {
    await mamba.selectBackend('cpu');
    const { B: _b, L: _l, ...cfg } = c;
    const probe = mamba.mambaLayer({ ...cfg, seed: 3 });
    probe.apply(tf.zeros([1, 1, c.dModel]));
    // Perturbed weights (D, biases and A_log away from their init), shared by every run.
    const weights = probe.trainableWeights.map((v, i) => tf.tidy(() => tf.add(v.read(), tf.randomNormal(v.shape, 0, 0.1, 'float32', 50 + i)).dataSync()));
    probe.dispose();
    const ref = await lossAndGrads(c, false, weights); // cpu, layer by layer
    await mamba.selectBackend('webgpu');
    for (const fused of [true, false]) {
      const r = await lossAndGrads(c, fused, weights);
      const gradErr = Math.max(...r.grads.map((g, i) => relErr(g, ref.grads[i])));
      const lossErr = Math.abs(r.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1);
      const pass = gradErr < 1e-4 && lossErr < 1e-4;
      ok = ok && pass;
      rows.push({ ...c, path: fused ? 'fused block' : 'layers', lossErr, gradErr, pass });
      console.error(`${pass ? 'PASS' : 'FAIL'} ${JSON.stringify(c)} webgpu ${fused ? 'fused block' : 'layers'} vs cpu: loss ${lossErr.toExponential(2)}, worst gradient ${gradErr.toExponential(2)}`);
    }
  }
  const result = { backend: 'webgpu', adapter: tf.backend().adapterInfo?.vendor, rows, allPass: ok };
  if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(result, null, 2));
  console.log(ok ? 'ALL PASS' : 'FAILURES');
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
