#!/usr/bin/env node
/**
 * Prints the README's benchmark tables (markdown) from benchmarks/results/*.json.
 * Usage: node benchmarks/report.js [results-dir]
 */
const fs = require('fs');
const path = require('path');

const dir = path.resolve(process.argv[2] || path.join(__dirname, 'results'));
const read = (f) => (fs.existsSync(path.join(dir, f)) ? JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) : null);
const parts = ['cpu.json', 'wasm.json'].map(read).filter(Boolean);
const cpu = parts.length ? { ...parts[0], rows: parts.flatMap((p) => p.rows) } : null;
const ms = (v) => (v == null ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mib = (b) => (b == null ? '–' : (b / 2 ** 20).toFixed(b < 2 ** 24 ? 1 : 0));

if (cpu) {
  console.log(`Machine: ${cpu.machine}; tfjs ${cpu.tfjs}; ${cpu.date.slice(0, 10)}.\n`);
  const a = cpu.rows.filter((r) => r.bench === 'scan-op');
  if (a.length) {
    console.log('(a) Selective scan alone, forward + backward, B 1, L 1024, ED 1024, N 16 (ms; peak tensor MiB):\n');
    console.log('| backend | sequential | pscan | fused | fused vs pscan |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const be of [...new Set(a.map((r) => r.backend))]) {
      const get = (m) => a.find((r) => r.backend === be && r.mode === m);
      const [s, p, f] = ['sequential', 'pscan', 'fused'].map(get);
      const cell = (r) => (r ? `${ms(r.msFwdBwd)}${r.peakBytes != null ? ` (${mib(r.peakBytes)} MiB)` : ''}` : '–');
      console.log(`| ${be} | ${cell(s)} | ${cell(p)} | ${cell(f)} | ${p && f ? `${(p.msFwdBwd / f.msFwdBwd).toFixed(1)}×` : '–'} |`);
    }
    console.log('');
  }
  const b = cpu.rows.filter((r) => r.bench === 'train-step');
  if (b.length) {
    console.log('(b) Train step (forward, backward, Adam) of Mamba(dModel 64, nLayers 2, dState 16), B 4 (ms per step: median, fastest in brackets):\n');
    console.log('| backend | scan | optimizer | L 256 | L 1024 |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const key of [...new Set(b.map((r) => `${r.backend}|${r.optimizer ?? 'adam'}`))]) {
      const [be, opt] = key.split('|');
      const get = (l) => b.find((r) => r.backend === be && (r.optimizer ?? 'adam') === opt && r.L === l);
      const cell = (r) => (r ? `${ms(r.msPerStep)}${r.minMs != null ? ` (${ms(r.minMs)})` : ''}` : '–');
      console.log(`| ${be} | ${get(256)?.mode ?? '–'} | ${opt === 'adam' ? 'tf.train.adam' : 'FlatAdam'} | ${cell(get(256))} | ${cell(get(1024))} |`);
    }
    console.log('');
  }
  const d = cpu.rows.filter((r) => r.bench === 'speed-chart');
  if (d.length) {
    const lengths = [...new Set(d.map((r) => r.L))].sort((x, y) => x - y);
    console.log('(d) Train step vs length, dModel 16, one layer, B 1: ms per step / peak tensor MiB:\n');
    console.log(`| backend · scan | ${lengths.map((l) => `L ${l}`).join(' | ')} |`);
    console.log(`| --- | ${lengths.map(() => '---').join(' | ')} |`);
    for (const key of [...new Set(d.map((r) => `${r.backend} · ${r.mode}`))]) {
      const cells = lengths.map((l) => {
        const r = d.find((x) => `${x.backend} · ${x.mode}` === key && x.L === l);
        return r ? `${ms(r.msPerStep)} / ${mib(r.peakBytes)}` : '–';
      });
      console.log(`| ${key} | ${cells.join(' | ')} |`);
    }
    console.log('');
  }
}

const gpu = read('webgpu.json');
if (gpu) {
  const gib = (b) => (b == null ? '–' : (b / 2 ** 30).toFixed(2));
  console.log(`(c) Train step of Mamba(dModel 256, nLayers 4, dState 16), B 8, on webgpu (${gpu.adapter ?? 'GPU'}; ${gpu.machine}; tfjs ${gpu.tfjs}; ${gpu.date.slice(0, 10)}):\n`);
  console.log('| path | optimizer | L | ms per step | forward | forward + backward | kernels per step | GPU memory GiB (nvidia-smi) | tfjs buffer pool GiB | peak tensors GiB |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const path = { fused: 'fused block, recompute', keep: 'fused block, keep', layers: 'fused scan, autodiff block', pscan: 'pscan' };
  for (const r of gpu.rows) {
    const name = path[r.variant] ?? r.variant ?? r.mode;
    const opt = r.optimizer === 'adam' ? 'tf.train.adam' : 'FlatAdam';
    const smi = r.smiPeakMiB != null ? (r.smiPeakMiB / 1024).toFixed(2) : '–';
    if (r.error) console.log(`| ${name} | ${opt} | ${r.L} | ${r.error} | | | | | | |`);
    else console.log(`| ${name} | ${opt} | ${r.L} | ${ms(r.msPerStep)} | ${ms(r.forwardMs)} | ${ms(r.gradsMs)} | ${r.kernelsPerStep} | ${smi} | ${gib(r.gpuBytes)} | ${gib(r.peakBytes)} |`);
  }
  console.log('');
}
