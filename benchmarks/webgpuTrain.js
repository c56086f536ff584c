#!/usr/bin/env node
/**
 * Benchmark (c): a train step (forward, backward, Adam) of Mamba(dModel 256, nLayers 4), B 8, L 1024 and 4096, and of
 * mamba.py's speed-chart model (16, 1 layer), B 1, L 4096 ('tiny'), on the webgpu backend, with peak GPU memory, the
 * GPU's own time per step (timestamp queries) against the wall time, and the kernels per step.
 * PyTorch's side, in the same device call: python3 ../shared/tools/gpu_anchor.py train.
 * Runs on the GPU machine (see DEVELOPERS.md):
 *   npm run build && ../shared/device/pack.sh
 *   device run, carry [".device"]: bash .device/gpu-run.sh node benchmarks/webgpuTrain.js $OUT/webgpu.json
 *   (with nvidia-smi sampling memory.used into gpumem.log meanwhile; then node benchmarks/gpuMemory.js adds it)
 * Each configuration runs in its own process, so that the memory figures are its own:
 * - gpuBytes: the high-water mark of tfjs-webgpu's buffer pool (tf.memory().numBytesAllocatedInGPU): the pool
 *   keeps freed buffers for reuse, so what it allocated is the most the step ever held on the GPU at once;
 * - peakBytes: tf.profile's peak bytes of live tensors during one forward + backward.
 * Each row also gives the forward and forward + backward times, the kernels in a step (all, and those that dispatch:
 * not Reshape, Identity, Cast), gpuMsPerStep and the kernels that took the most GPU time.
 * Options: argv[2] output JSON path (default benchmarks/results/webgpu.json);
 * WEBGPU_TRAIN_CONFIGS=fused:1024,fused:4096:adam,… (variant:L[:adam]; variants in runOne; the optimizer is
 * FlatAdam unless ':adam' asks for tf.train.adam — the same update, see src/training/flatAdam.ts);
 * WEBGPU_TRAIN_SMALL=1 shrinks the model (for a software Vulkan driver); WEBGPU_TRAIN_TIMEOUT_S=240 per configuration.
 */
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

/**
 * One configuration, in this process: prints its row as JSON on the last line of stdout.
 * variant: 'fused' (the default path: fused scan, and the whole block as one op with a hand-written backward, which
 * recomputes its intermediates where a layer would keep more than 256 MiB: MAMBA_TFJS_RECOMPUTE=auto),
 * 'keep' and 'recompute' (fused, always keeping the block's intermediates for the backward pass, or always
 * recomputing them: MAMBA_TFJS_RECOMPUTE=0 / 1), 'nocache' (fused, without the bind-group cache:
 * MAMBA_TFJS_WEBGPU_BIND_GROUPS=0), 'layers' (fused scan, but the block's ops differentiated one by one:
 * MAMBA_TFJS_FUSED_BLOCK=0), 'pscan'; 'tiny', 'tinykeep', 'tinyrecompute' and 'tinynocache': the same on mamba.py's
 * speed-chart model (dModel 16, 1 layer, B 1) instead of Mamba(256, 4 layers), B 8. Each row also gives the
 * bind-group cache's hits and misses over the whole run (src/ops/kernels/webgpu/bindGroupCache.ts).
 * GPU time: the step once more under tf.profile, whose kernels tfjs-webgpu times with timestamp queries (Dawn's
 * 'allow_unsafe_apis' on, its timestamp quantization off, so kernels of a few µs count); gpuMsPerStep is their
 * sum, the time the GPU computed, against msPerStep, the wall time.
 */
async function runOne(variant, l, optimizer) {
  if (variant === 'layers') process.env.MAMBA_TFJS_FUSED_BLOCK = '0';
  if (variant === 'keep' || variant === 'tinykeep') process.env.MAMBA_TFJS_RECOMPUTE = '0';
  if (variant === 'recompute' || variant === 'tinyrecompute') process.env.MAMBA_TFJS_RECOMPUTE = '1';
  if (variant === 'nocache' || variant === 'tinynocache') process.env.MAMBA_TFJS_WEBGPU_BIND_GROUPS = '0';
  const mode = variant === 'pscan' ? 'pscan' : 'fused';
  const { tf, mamba, timeSteps, meanSquare, webgpuWithTimestamps } = require('./lib');
  const { trainStep } = require('./trainStep');
  const time = async (fn) => (await timeSteps(fn, { warmup: 2, reps: 5 })).ms;
  webgpuWithTimestamps();
  await mamba.selectBackend('webgpu');
  const small = process.env.WEBGPU_TRAIN_SMALL === '1' || variant.startsWith('tiny');
  const cfg = { dModel: small ? 16 : 256, nLayers: small ? 1 : 4, b: small ? 1 : 8, l };
  // Warm-up: at least 3 steps and 3 s. From idle the GPU's clocks (and the host's) take seconds to ramp up: the first
  // configuration of a device call measured 51 and 84 ms a step where the same ones later took 44 and 57.
  const r = await trainStep({ ...cfg, mode, reps: 21, warmup: 3, warmupMs: 3000, budgetMs: 60000, optimizer });
  const gpuBytes = tf.memory().numBytesAllocatedInGPU;
  // Where the time goes: forward alone, forward + backward, the kernels of a train step and their GPU time.
  const layer = mamba.mambaLayer({ dModel: cfg.dModel, nLayers: cfg.nLayers, dState: 16, scanMode: mode, seed: 1 });
  const x = tf.randomNormal([cfg.b, l, cfg.dModel], 0, 1, 'float32', 7); // (B, L, D)
  tf.tidy(() => layer.apply(x));
  const vars = layer.trainableWeights.map((w) => w.read());
  const loss = () => meanSquare(layer.call(x, {}));
  const forwardMs = await time(async () => { const c = tf.tidy(loss); await c.data(); c.dispose(); });
  const gradsMs = await time(async () => { const { value, grads } = tf.variableGrads(loss, vars); await value.data(); await Promise.all(Object.values(grads).map((g) => g.data())); tf.dispose([value, grads]); });
  const opt = optimizer === 'flatAdam' ? mamba.flatAdam(1e-3) : tf.train.adam(1e-3);
  const step = async () => { const c = opt.minimize(loss, true, vars); await c.data(); c.dispose(); };
  await step();
  const info = await tf.profile(step);
  const byKernel = {};
  let gpuMs = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    gpuMs += ms;
    const e = (byKernel[k.name] = byKernel[k.name] || { kernel: k.name, count: 0, gpuMs: 0 });
    e.count++;
    e.gpuMs += ms;
  }
  const topKernels = Object.values(byKernel).sort((p, q) => q.gpuMs - p.gpuMs).slice(0, 12).map((e) => ({ ...e, gpuMs: +e.gpuMs.toFixed(3) }));
  const dispatching = info.kernels.filter((k) => !['Reshape', 'Identity', 'Cast'].includes(k.name)).length;
  tf.dispose([x, opt]);
  layer.dispose();
  const adapter = tf.backend().adapterInfo || {};
  console.log(JSON.stringify({
    bench: 'train-step-webgpu', variant, ...r, gpuBytes, forwardMs, gradsMs, kernelsPerStep: info.kernels.length, dispatchingKernelsPerStep: dispatching,
    gpuMsPerStep: tf.backend().supportTimestampQuery ? +gpuMs.toFixed(2) : null, topKernels, bindGroups: { ...mamba.bindGroupCacheStats },
    adapter: adapter.vendor ? `${adapter.vendor} ${adapter.architecture || ''}`.trim() : undefined,
  }));
}

/** All configurations, each in a child process; a failed one is recorded with its error and the rest go on. */
function runAll() {
  const { machine, tf } = require('./lib');
  const out = path.resolve(process.argv[2] || path.join(__dirname, 'results', 'webgpu.json'));
  const small = process.env.WEBGPU_TRAIN_SMALL === '1';
  const configs = (process.env.WEBGPU_TRAIN_CONFIGS || (small ? 'fused:64,fused:64:adam,layers:64,pscan:64'
    : 'fused:1024,fused:4096,tiny:4096,recompute:1024,keep:4096,tinyrecompute:4096,nocache:1024,tinynocache:4096,fused:1024:adam,layers:4096,pscan:1024'))
    .split(',').map((c) => { const [variant, l, opt] = c.split(':'); return { variant, l: Number(l), optimizer: opt === 'adam' ? 'adam' : 'flatAdam' }; });
  const timeoutMs = Number(process.env.WEBGPU_TRAIN_TIMEOUT_S || 240) * 1000;
  const rows = [];
  for (const { variant, l, optimizer } of configs) {
    let row;
    const startedAt = new Date().toISOString();
    try {
      const stdout = execFileSync(process.execPath, [__filename, '--one', variant, String(l), optimizer], { timeout: timeoutMs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      row = JSON.parse(stdout.trim().split('\n').pop());
      console.error(`webgpu ${variant} ${optimizer} L ${l}: ${row.msPerStep.toFixed(1)} ms per step, GPU ${row.gpuMsPerStep} ms (forward ${row.forwardMs.toFixed(1)}, forward+backward ${row.gradsMs.toFixed(1)}, ${row.kernelsPerStep} kernels, ${row.dispatchingKernelsPerStep} dispatching), GPU pool ${(row.gpuBytes / 2 ** 30).toFixed(2)} GiB, peak tensors ${(row.peakBytes / 2 ** 30).toFixed(2)} GiB`);
    } catch (e) {
      const why = e.code === 'ETIMEDOUT' || e.signal ? `stopped after ${timeoutMs / 1000} s` : String(e.message).split('\n')[0];
      row = { bench: 'train-step-webgpu', backend: 'webgpu', variant, optimizer, L: l, error: why };
      console.error(`webgpu ${variant} ${optimizer} L ${l}: failed (${why})`);
    }
    rows.push({ ...row, startedAt, endedAt: new Date().toISOString() });
  }
  const result = { machine: machine(), adapter: rows.find((r) => r.adapter)?.adapter, date: new Date().toISOString(), tfjs: tf.version.tfjs, rows };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2));
  fs.renameSync(`${out}.tmp`, out);
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv[2] === '--one') {
  runOne(process.argv[3], Number(process.argv[4]), process.argv[5] || 'flatAdam').catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  runAll();
}
