#!/usr/bin/env node
/**
 * Adds the GPU memory nvidia-smi saw to the rows of a webgpuTrain.js result: for each row, the largest
 * `memory.used` sampled between its startedAt and endedAt (each configuration runs in its own process, so this is
 * that process's GPU memory, Dawn's own allocations included), as `smiPeakMiB`.
 *   nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader -lms 200 > gpumem.log &   (during the run)
 *   node benchmarks/gpuMemory.js webgpu.json gpumem.log [out.json]      (out defaults to webgpu.json, rewritten)
 * nvidia-smi's timestamps are the GPU machine's local time, which is UTC there.
 */
const fs = require('fs');

const [jsonPath, logPath, outPath = jsonPath] = process.argv.slice(2);
if (!jsonPath || !logPath) {
  console.error('usage: node benchmarks/gpuMemory.js webgpu.json gpumem.log [out.json]');
  process.exit(2);
}
const result = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
const samples = fs.readFileSync(logPath, 'utf8').split('\n').map((line) => {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d:\d\d:\d\d\.\d+), (\d+) MiB/.exec(line.trim());
  return m ? { t: Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`), mib: Number(m[5]) } : null;
}).filter(Boolean);
if (samples.length === 0) throw new Error(`${logPath}: expected nvidia-smi lines like "2026/11/29 03:59:44.914, 1234 MiB", found none`);
for (const row of result.rows) {
  if (!row.startedAt || !row.endedAt) continue;
  const [t0, t1] = [Date.parse(row.startedAt), Date.parse(row.endedAt)];
  const inside = samples.filter((s) => s.t >= t0 && s.t <= t1).map((s) => s.mib);
  if (inside.length) row.smiPeakMiB = Math.max(...inside);
}
result.gpuMemoryNote = 'smiPeakMiB: the largest nvidia-smi memory.used (200 ms samples) while the row\'s process ran';
fs.writeFileSync(`${outPath}.tmp`, JSON.stringify(result, null, 2));
fs.renameSync(`${outPath}.tmp`, outPath);
console.log(result.rows.map((r) => `${r.variant} ${r.optimizer} L ${r.L}: ${r.smiPeakMiB ?? '–'} MiB`).join('\n'));
