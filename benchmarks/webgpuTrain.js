#!/usr/bin/env node
/**
 * Benchmark (c): a train step (forward, backward, Adam) of Mamba(dModel 256, nLayers 4), B 8, L 1024 and 4096,
 * on the webgpu backend, with peak GPU memory.
 * Runs on the GPU machine (see DEVELOPERS.md):
 *   npm run build && ../shared/device/pack.sh
 *   device run, carry [".device"]: bash .device/gpu-run.sh node benchmarks/webgpuTrain.js $OUT/webgpu.json
 * Each configuration runs in its own process, so that the memory figures are its own:
 * - gpuBytes: the high-water mark of tfjs-webgpu's buffer pool (tf.memory().numBytesAllocatedInGPU): the pool
 *   keeps freed buffers for reuse, so what it allocated is the most the step ever held on the GPU at once;
 * - peakBytes: tf.profile's peak bytes of live tensors during one forward + backward.
 * Options: argv[2] output JSON path (default benchmarks/results/webgpu.json); WEBGPU_TRAIN_LENGTHS=1024,4096;
 * WEBGPU_TRAIN_MODES=fused,pscan; WEBGPU_TRAIN_SMALL=1 shrinks the model (for a software Vulkan driver);
 * WEBGPU_TRAIN_TIMEOUT_S=240 per configuration.
 */
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

/** One configuration, in this process: prints its row as JSON on the last line of stdout. */
async function runOne(mode, l) {
  const { tf, mamba } = require('./lib');
  const { trainStep } = require('./trainStep');
  await mamba.selectBackend('webgpu');
  const small = process.env.WEBGPU_TRAIN_SMALL === '1';
  const r = await trainStep({ dModel: small ? 16 : 256, nLayers: small ? 1 : 4, b: small ? 1 : 8, l, mode, reps: 5, budgetMs: 60000 });
  const mem = tf.memory();
  const adapter = tf.backend().adapterInfo || {};
  console.log(JSON.stringify({ bench: 'train-step-webgpu', ...r, gpuBytes: mem.numBytesAllocatedInGPU, adapter: adapter.vendor ? `${adapter.vendor} ${adapter.architecture || ''}`.trim() : undefined }));
}

/** All configurations, each in a child process; a failed one is recorded with its error and the rest go on. */
function runAll() {
  const { machine, tf } = require('./lib');
  const out = path.resolve(process.argv[2] || path.join(__dirname, 'results', 'webgpu.json'));
  const small = process.env.WEBGPU_TRAIN_SMALL === '1';
  const lengths = (process.env.WEBGPU_TRAIN_LENGTHS || (small ? '64' : '1024,4096')).split(',').map(Number);
  const modes = (process.env.WEBGPU_TRAIN_MODES || 'fused,pscan').split(',');
  const timeoutMs = Number(process.env.WEBGPU_TRAIN_TIMEOUT_S || 240) * 1000;
  const rows = [];
  for (const mode of modes) {
    for (const l of lengths) {
      let row;
      const startedAt = new Date().toISOString();
      try {
        const stdout = execFileSync(process.execPath, [__filename, '--one', mode, String(l)], { timeout: timeoutMs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        row = JSON.parse(stdout.trim().split('\n').pop());
        console.error(`  webgpu ${mode} L ${l}: ${row.msPerStep.toFixed(1)} ms per step, GPU pool ${(row.gpuBytes / 2 ** 30).toFixed(2)} GiB, peak tensors ${(row.peakBytes / 2 ** 30).toFixed(2)} GiB`);
      } catch (e) {
        const why = e.code === 'ETIMEDOUT' || e.signal ? `stopped after ${timeoutMs / 1000} s` : String(e.message).split('\n')[0];
        row = { bench: 'train-step-webgpu', backend: 'webgpu', mode, L: l, error: why };
        console.error(`  webgpu ${mode} L ${l}: failed (${why})`);
      }
      rows.push({ ...row, startedAt, endedAt: new Date().toISOString() });
    }
  }
  const result = { machine: machine(), adapter: rows.find((r) => r.adapter)?.adapter, date: new Date().toISOString(), tfjs: tf.version.tfjs, rows };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2));
  fs.renameSync(`${out}.tmp`, out);
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv[2] === '--one') {
  runOne(process.argv[3], Number(process.argv[4])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  runAll();
}
