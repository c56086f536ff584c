#!/usr/bin/env node
/**
 * Benchmark (c): a train step (forward, backward, Adam) of Mamba(dModel 256, nLayers 4), B 8, L 1024 and 4096,
 * on the webgpu backend, with peak tensor memory (tf.profile's peakBytes: what tfjs holds on the GPU).
 * Runs on the GPU machine (see DEVELOPERS.md):
 *   npm run build && ../shared/device/pack.sh
 *   device run, carry [".device"]: bash .device/gpu-run.sh node benchmarks/webgpuTrain.js $OUT/webgpu.json
 * Options: argv[2] output JSON path (default benchmarks/results/webgpu.json); WEBGPU_TRAIN_LENGTHS=1024,4096;
 * WEBGPU_TRAIN_SMALL=1 shrinks the model (for a software Vulkan driver).
 */
const fs = require('fs');
const path = require('path');
const { tf, mamba, machine } = require('./lib');
const { trainStep } = require('./trainStep');

async function main() {
  const out = path.resolve(process.argv[2] || path.join(__dirname, 'results', 'webgpu.json'));
  await mamba.selectBackend('webgpu');
  const small = process.env.WEBGPU_TRAIN_SMALL === '1';
  const lengths = (process.env.WEBGPU_TRAIN_LENGTHS || (small ? '64' : '1024,4096')).split(',').map(Number);
  const rows = [];
  for (const mode of ['fused', 'pscan']) {
    for (const l of lengths) {
      const r = await trainStep({ dModel: small ? 16 : 256, nLayers: small ? 1 : 4, b: small ? 1 : 8, l, mode, reps: 5, budgetMs: 60000 });
      rows.push({ bench: 'train-step-webgpu', ...r });
      console.error(`  webgpu ${mode} L ${l}: ${r.msPerStep.toFixed(1)} ms per step, peak ${(r.peakBytes / 2 ** 30).toFixed(2)} GiB`);
    }
  }
  const result = { machine: machine(), date: new Date().toISOString(), tfjs: tf.version.tfjs, rows };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2));
  fs.renameSync(`${out}.tmp`, out);
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
