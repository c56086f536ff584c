/**
 * Draws the benchmark charts from the JSON results in a folder (cpu.json, wasm.json, webgpu.json if present).
 */
const fs = require('fs');
const path = require('path');
const { writeChart } = require('../dist/cli/chart');

function load(dir, name) {
  const f = path.join(dir, name);
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')).rows : [];
}

function drawCharts(dir) {
  const rows = ['cpu.json', 'wasm.json', 'webgpu.json'].flatMap((f) => load(dir, f));
  const speed = rows.filter((r) => r.bench === 'speed-chart');
  if (speed.length) {
    const keys = [...new Set(speed.map((r) => `${r.backend} ${r.mode}`))];
    const series = (field, scale) =>
      keys.map((k) => {
        const pts = speed.filter((r) => `${r.backend} ${r.mode}` === k).sort((a, b) => a.L - b.L);
        return { name: k, x: pts.map((r) => r.L), y: pts.map((r) => r[field] * scale), dashed: k.endsWith('sequential') };
      });
    writeChart(path.join(dir, 'speed-chart.png'), [
      { title: 'Train step time (dModel 16, 1 layer, B 1)', xLabel: 'sequence length L', yLabel: 'ms per step', xAxis: 'log2', yAxis: 'log10', series: series('msPerStep', 1) },
      { title: 'Peak tensor memory of a train step', xLabel: 'sequence length L', yLabel: 'MiB', xAxis: 'log2', yAxis: 'log10', series: series('peakBytes', 1 / 2 ** 20) },
    ], { columns: 2 });
  }
  const train = rows.filter((r) => (r.bench === 'train-step' || r.bench === 'train-step-webgpu') && r.msPerStep != null);
  if (train.length) writeChart(path.join(dir, 'train-step.png'), trainStepPanels(train), { columns: 2 });
  const m2 = path.join(dir, 'mamba2-step-wasm.json');
  if (fs.existsSync(m2)) writeChart(path.join(dir, 'mamba2-step.png'), mamba2Panels(JSON.parse(fs.readFileSync(m2, 'utf8'))), { columns: 2 });
}

/** Mamba-2 beside Mamba-1 (benchmarks/mamba2Step.js): time and peak memory per arch, scan mode and dState. */
function mamba2Panels(result) {
  const keyOf = (r) => `${r.arch === 'mamba' ? 'Mamba-1' : 'Mamba-2'} ${r.mode}, N ${r.dState}`;
  const keys = [...new Set(result.rows.map(keyOf))];
  const series = (field, scale) =>
    keys.map((k) => {
      const pts = result.rows.filter((r) => keyOf(r) === k).sort((a, b) => a.L - b.L);
      return { name: k, x: pts.map((r) => r.L), y: pts.map((r) => r[field] * scale), dashed: k.includes('chunked') };
    });
  const size = `d${result.dModel}×${result.nLayers}, B ${result.B}, ${result.backend}`;
  const panel = { xLabel: 'sequence length L', xAxis: 'log2', yAxis: 'log10', legend: 'below', height: 460 };
  return [
    { ...panel, title: `Train step (forward, backward, Adam): ${size}`, yLabel: 'ms per step', series: series('msPerStep', 1) },
    { ...panel, title: 'Peak tensor memory of a train step', yLabel: 'MiB', series: series('peakBytes', 1 / 2 ** 20) },
  ];
}

/**
 * The train-step chart: one panel per model size (cpu/wasm rows and webgpu rows measure different models, so they
 * do not share an axis), one series per backend, path and optimizer, the legend below the plot.
 */
function trainStepPanels(train) {
  const sizeOf = (r) => `d${r.dModel}×${r.nLayers}, B ${r.B}`;
  const keyOf = (r) => `${r.backend} ${r.variant ?? r.mode}${r.optimizer === 'flatAdam' ? ' FlatAdam' : ''}`; // webgpu rows name their path in variant
  const sizes = [...new Set(train.map(sizeOf))];
  return sizes.map((size) => {
    const rows = train.filter((r) => sizeOf(r) === size);
    const keys = [...new Set(rows.map(keyOf))];
    return {
      title: `Train step (forward, backward, Adam): ${size}`,
      xLabel: 'sequence length L',
      yLabel: 'ms per step',
      xAxis: 'log2',
      yAxis: 'log10',
      legend: 'below',
      height: 460,
      series: keys.map((k) => {
        const pts = rows.filter((r) => keyOf(r) === k).sort((a, b) => a.L - b.L);
        return { name: k, x: pts.map((r) => r.L), y: pts.map((r) => r.msPerStep) };
      }),
    };
  });
}

module.exports = { drawCharts };
if (require.main === module) drawCharts(path.resolve(process.argv[2] || path.join(__dirname, 'results')));
