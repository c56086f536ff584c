#!/usr/bin/env node
/**
 * Host-side settings of a webgpu train step, A/B-tested in one process: each setting in turn for a few steps, over
 * many rounds, so that the host's drift (large on the GPU machine: the same step varies ±30 % between processes)
 * falls on every setting alike. Settings: 'base' (defaults), 'nocache' (MAMBA_TFJS_WEBGPU_BIND_GROUPS 0: a fresh bind
 * group per dispatch, as tfjs does), 'b30' / 'b60' (tfjs-webgpu's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE 30 / 60, default
 * 15), 'recompute' (MAMBA_TFJS_RECOMPUTE true: the fused block recomputes its intermediates in the backward pass).
 * Models: mamba.py's speed-chart model (16, 1 layer) at B 1, L 4096, and Mamba(256, 4 layers) at B 8, L 1024 and 4096,
 * FlatAdam, the loss mean(y²) as in webgpuTrain.js. Prints one JSON row per model (median and fastest ms a step).
 *   npm run build && node benchmarks/webgpuHostAB.js [out.json]      (on the GPU machine: see webgpuTrain.js)
 */
const fs = require('fs');
const { tf, mamba, median, meanSquare, webgpuWithTimestamps } = require('./lib');

const SETTINGS = { base: {}, nocache: { cache: 0 }, b30: { batch: 30 }, b60: { batch: 60 }, recompute: { recompute: true } };

/** Puts setting `s` in force. */
function apply(s) {
  tf.env().set('MAMBA_TFJS_WEBGPU_BIND_GROUPS', s.cache ?? 4096);
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', s.batch ?? 15);
  mamba.setRecomputeInBackward(s.recompute ? true : 'auto');
}

/** Rounds of every setting in turn on one model; returns the row. */
async function ab(label, [d, nLayers, b, l], names, rounds, perRound) {
  const layer = mamba.mambaLayer({ dModel: d, nLayers, dState: 16, scanMode: 'fused', seed: 1 });
  const x = tf.randomNormal([b, l, d], 0, 1, 'float32', 7); // (B, L, D)
  tf.tidy(() => layer.apply(x));
  const vars = layer.trainableWeights.map((w) => w.read());
  const opt = mamba.flatAdam(1e-3);
  const loss = () => meanSquare(layer.call(x, {}));
  const step = async () => { const c = opt.minimize(loss, true, vars); await c.data(); c.dispose(); };
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const w0 = Date.now();
  for (let i = 0; i < 5 || Date.now() - w0 < 1500; i++) await step();
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      apply(SETTINGS[n]);
      for (let i = 0; i < 2; i++) await step(); // the setting's first steps (new pipelines, a fuller cache) untimed
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        await step();
        times[n].push(performance.now() - t0);
      }
    }
  }
  apply({});
  tf.dispose([x, opt]);
  layer.dispose();
  const row = { label, dModel: d, nLayers, B: b, L: l, rounds, perRound };
  for (const n of names) row[n] = { medianMs: +median(times[n]).toFixed(2), minMs: +Math.min(...times[n]).toFixed(2) };
  return row;
}

(async () => {
  webgpuWithTimestamps();
  await mamba.selectBackend('webgpu');
  const all = Object.keys(SETTINGS);
  const rows = [];
  for (const [label, cfg, rounds, per] of [['small', [16, 1, 1, 4096], 12, 6], ['d256-L1024', [256, 4, 8, 1024], 8, 4], ['d256-L4096', [256, 4, 8, 4096], 4, 3]]) {
    const row = await ab(label, cfg, all, rounds, per);
    console.error(JSON.stringify(row));
    rows.push(row);
  }
  const out = { date: new Date().toISOString(), adapter: tf.backend().adapterInfo?.vendor, rows };
  if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 2));
  console.log(JSON.stringify(out, null, 2));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
