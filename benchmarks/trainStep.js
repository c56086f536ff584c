/**
 * Benchmark (b) and (d): one training step (forward, backward, Adam update) of a Mamba stack.
 * (b) Mamba(dModel 64, nLayers 2, dState 16), B 4, L 256 and 1024 — the settings compared with mamba.py.
 * (d) mamba.py's speed chart: dModel 16, one layer, B 1, L 64 … 8192, sequential vs pscan vs fused.
 * The loss is the mean square of the stack's output, as in mamba.py's benchmark.
 */
const { tf, mamba, measureTrainStep, meanSquare } = require('./lib');

/** Time and peak memory of a train step for one configuration. */
async function trainStep({ dModel, nLayers, b, l, mode, reps = 5, warmup = 1, warmupMs = 0, budgetMs = 30000, optimizer = 'adam' }) {
  const layer = mamba.mambaLayer({ dModel, nLayers, dState: 16, scanMode: mode, seed: 1 });
  const x = tf.randomNormal([b, l, dModel], 0, 1, 'float32', 7);
  tf.tidy(() => layer.apply(x));
  const vars = layer.trainableWeights.map((w) => w.read());
  // 'adam': tf.train.adam; 'flatAdam': the same update over all variables at once (src/training/flatAdam.ts).
  const opt = optimizer === 'flatAdam' ? mamba.flatAdam(1e-3) : tf.train.adam(1e-3);
  const loss = () => meanSquare(layer.call(x, {}));
  const { ms, minMs, reps: n, peakBytes: peak } = await measureTrainStep(opt, loss, vars, { reps, warmup, warmupMs, budgetMs });
  opt.dispose();
  x.dispose();
  layer.dispose();
  return { backend: tf.getBackend(), mode, optimizer, dModel, nLayers, B: b, L: l, msPerStep: ms, minMs, reps: n, peakBytes: peak };
}

/** Benchmark (b) on the active backend. */
async function benchTrainStep() {
  const rows = [];
  // This machine's speed drifts between runs (shared cores): 20 steps, the median and the fastest reported.
  for (const optimizer of ['adam', 'flatAdam']) {
    for (const l of [256, 1024]) {
      const r = await trainStep({ dModel: 64, nLayers: 2, b: 4, l, mode: 'auto', reps: 20, budgetMs: 60000, optimizer });
      rows.push({ bench: 'train-step', ...r, mode: mamba.resolveScanMode('auto') });
      console.error(`  train step ${r.backend} ${optimizer} L ${l}: ${r.msPerStep.toFixed(1)} ms (fastest ${r.minMs.toFixed(1)})`);
    }
  }
  return rows;
}

/** Benchmark (d) on the active backend: a mode stops growing L once a step takes longer than `stopMs`. */
async function benchSpeedChart({ lengths = [64, 128, 256, 512, 1024, 2048, 4096, 8192], modes = ['sequential', 'pscan', 'fused'], stopMs = 15000 } = {}) {
  // The sequential loop's memory grows as L² (each slice's gradient is padded to full size): on wasm, whose heap
  // ends at 4 GiB and aborts the process when exhausted, stop before the next length could pass it.
  const stopBytes = tf.getBackend() === 'wasm' ? 2 ** 30 * 0.9 : Infinity;
  const rows = [];
  for (const mode of modes) {
    if (mode === 'fused' && !mamba.hasFusedScanKernel()) continue;
    for (const l of lengths) {
      const r = await trainStep({ dModel: 16, nLayers: 1, b: 1, l, mode, reps: 3, budgetMs: 20000 });
      rows.push({ bench: 'speed-chart', ...r });
      console.error(`  speed chart ${r.backend} ${mode} L ${l}: ${r.msPerStep.toFixed(1)} ms, peak ${(r.peakBytes / 2 ** 20).toFixed(1)} MiB`);
      if (r.msPerStep > stopMs || r.peakBytes > stopBytes) break;
    }
  }
  return rows;
}

module.exports = { trainStep, benchTrainStep, benchSpeedChart };
