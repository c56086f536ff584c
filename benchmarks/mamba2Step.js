#!/usr/bin/env node
/**
 * Mamba-2 train step (forward, backward, Adam) per SSD scan mode, beside Mamba-1 at the same size: dModel 64, 2 layers,
 * B 4, L 256 and 1024 (issue #15), time per step and peak tensor memory (tf.profile). Mamba-2: headDim 16 (8 heads),
 * 1 group, chunk 64, dState 16 (as the Mamba-1 benchmark) and 64. Runs over dist/ (`npm run build` first).
 *
 * Usage: node benchmarks/mamba2Step.js [--backend wasm] [--modes fused,chunked] [--lengths 256,1024] [--out file.json]
 */
const fs = require('fs');
const { tf, mamba, measureTrainStep, machine, meanSquare } = require('./lib');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Time and peak memory of one train step of `layer` on x (B, L, D). */
async function measure(layer, b, l, dModel, reps) {
  const x = tf.randomNormal([b, l, dModel], 0, 1, 'float32', 7); // (B, L, D)
  tf.tidy(() => layer.apply(x));
  const vars = layer.trainableWeights.map((w) => w.read());
  const opt = tf.train.adam(1e-3);
  const loss = () => meanSquare(layer.call(x, {}));
  const t = await measureTrainStep(opt, loss, vars, { reps, budgetMs: 60000 });
  opt.dispose();
  x.dispose();
  layer.dispose();
  return { msPerStep: t.ms, minMs: t.minMs, reps: t.reps, peakBytes: t.peakBytes };
}

async function main() {
  const backend = arg('backend', 'wasm');
  await mamba.selectBackend(backend);
  const modes = arg('modes', 'fused,chunked').split(',');
  const lengths = arg('lengths', '256,1024').split(',').map(Number);
  const reps = Number(arg('reps', 5));
  const [dModel, nLayers, b] = [64, 2, 4];
  const rows = [];
  const log = (r) => {
    rows.push(r);
    console.error(`  ${r.arch} ${r.mode} N ${r.dState} L ${r.L}: ${r.msPerStep.toFixed(1)} ms (fastest ${r.minMs.toFixed(1)}), peak ${(r.peakBytes / 2 ** 20).toFixed(1)} MiB`);
  };
  for (const l of lengths) {
    const m1 = mamba.mambaLayer({ dModel, nLayers, dState: 16, scanMode: 'auto', seed: 1 });
    log({ arch: 'mamba', mode: mamba.resolveScanMode('auto'), dState: 16, L: l, ...(await measure(m1, b, l, dModel, reps)) });
    for (const dState of [16, 64]) {
      for (const mode of modes) {
        const layer = mamba.mamba2Layer({ dModel, nLayers, dState, headDim: 16, nGroups: 1, chunkSize: 64, scanMode: mode, seed: 1 });
        log({ arch: 'mamba2', mode, dState, L: l, ...(await measure(layer, b, l, dModel, reps)) });
      }
    }
  }
  const out = { bench: 'mamba2-train-step', backend: tf.getBackend(), machine: machine(), date: new Date().toISOString(), dModel, nLayers, B: b, rows };
  const file = arg('out', null);
  if (file) fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  else console.log(JSON.stringify(out, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
