#!/usr/bin/env node
/**
 * `npm run bench`: the fused-scan benchmarks of the README on the CPU backends.
 *   (a) the scan op alone, (b) a train step of Mamba(64, 2) at L 256 / 1024, (d) mamba.py's speed chart.
 * Options: --backends cpu,wasm   --only a,b,d   --out benchmarks/results
 * Writes <out>/<backend>.json per backend and the charts <out>/train-step.png, <out>/speed-chart.png.
 * (c), the train step on WebGPU, runs on the GPU machine: benchmarks/webgpuTrain.js.
 */
const fs = require('fs');
const path = require('path');
const { tf, mamba, machine } = require('./lib');
const { benchScanOp } = require('./scanOp');
const { benchTrainStep, benchSpeedChart } = require('./trainStep');
const { drawCharts } = require('./charts');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const backends = arg('backends', 'cpu,wasm').split(',');
  const only = new Set(arg('only', 'a,b,d').split(','));
  const out = path.resolve(arg('out', path.join(__dirname, 'results')));
  fs.mkdirSync(out, { recursive: true });
  for (const backend of backends) {
    const rows = [];
    await mamba.selectBackend(backend);
    console.error(`backend ${backend}`);
    if (only.has('a')) rows.push(...(await benchScanOp()));
    if (only.has('b')) rows.push(...(await benchTrainStep()));
    if (only.has('d')) rows.push(...(await benchSpeedChart()));
    const result = { machine: machine(), date: new Date().toISOString(), tfjs: tf.version.tfjs, rows };
    const file = path.join(out, `${backend}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 2));
    fs.renameSync(`${file}.tmp`, file);
    console.log(JSON.stringify(result, null, 2));
  }
  drawCharts(out);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
