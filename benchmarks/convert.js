#!/usr/bin/env node
/**
 * Conversion cost of `mamba-tfjs convert` at mamba-130m's shapes (dModel 768, 24 layers, vocab 50280):
 * writes a random -hf checkpoint (config.json + F32 model.safetensors, ~0.5 GB, streamed with
 * writeSafetensors one tensor at a time) into a temporary directory, converts it with the CLI code in a
 * child process per dtype, and reports each conversion's wall time and peak RSS
 * (process.resourceUsage().maxRSS), plus the time and peak RSS of loading the result with
 * tf.loadLayersModel. Prints one JSON object. The temporary files are removed at the end.
 *
 * Run after `npm run build`:  node benchmarks/convert.js [--d-model 768] [--layers 24] [--vocab 50280]
 *                             [--dtypes float32,float16] [--no-load]
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { writeRandomCheckpoint } = require('./checkpoint');


const DIST = path.resolve(__dirname, '../dist');

/** --name value pairs (and --no-x flags) of argv, with defaults. */
function args(argv) {
  const out = { 'd-model': '768', layers: '24', vocab: '50280', dtypes: 'float32,float16', load: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-load') out.load = false;
    else if (a.startsWith('--')) out[a.slice(2)] = argv[++i];
  }
  return out;
}

const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const peakRssMiB = () => mib(process.resourceUsage().maxRSS * 1024);

/** Sum of file sizes in a directory. */
function dirBytes(dir) {
  return fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

/** Writes config.json + a random F32 model.safetensors (torch layout), one tensor in memory at a time. */
function makeCheckpoint(dir, dModel, nLayers, vocab) {
  const weights = (plan) => plan.mambaLMWeightShapes({ dModel, nLayers, vocabSize: vocab, padVocabSizeMultiple: 1 });
  return writeRandomCheckpoint(dir, { dModel, nLayers, vocab, dtype: 'F32' }, weights, (spec, data, next) => {
    for (let i = 0; i < data.length; i++) data[i] = (next() - 0.5) * 0.04;
  });
}

/** Child: run `convert` through the CLI registration on a fresh commander program. */
async function childConvert(src, out, dtype) {
  const { Command } = require('commander');
  const { registerConvertCommand } = require(path.join(DIST, 'cli/convertCommand.js'));
  const program = new Command('mamba-tfjs').exitOverride();
  registerConvertCommand(program);
  const log = console.log;
  console.log = () => undefined; // keep stdout for the JSON line
  const t0 = performance.now();
  await program.parseAsync(['node', 'mamba-tfjs', 'convert', src, out, '--dtype', dtype, '--quiet']);
  const wallSeconds = (performance.now() - t0) / 1000;
  console.log = log;
  const shards = fs.readdirSync(out).filter((f) => f.endsWith('.bin')).length;
  process.stdout.write(JSON.stringify({ wallSeconds: Math.round(wallSeconds * 100) / 100, peakRssMiB: peakRssMiB(), outMiB: mib(dirBytes(out)), shards }) + '\n');
}

/** Child: load a converted directory with plain tfjs (after importing mamba-tfjs for file:// and the layers). */
async function childLoad(out) {
  const tf = require('@tensorflow/tfjs');
  await require(path.join(DIST, 'node')).selectBackend('cpu'); // also spends tfjs's Node.js banner silently
  const t0 = performance.now();
  const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
  const loadSeconds = (performance.now() - t0) / 1000;
  const params = model.countParams();
  model.dispose();
  process.stdout.write(JSON.stringify({ loadSeconds: Math.round(loadSeconds * 100) / 100, loadPeakRssMiB: peakRssMiB(), params }) + '\n');
}

/** Child: load a converted directory one weight at a time (mamba-tfjs loadTfjsModelStreaming). */
async function childStreamLoad(out) {
  require('@tensorflow/tfjs'); // the cpu backend
  const { loadTfjsModelStreaming, selectBackend } = require(path.join(DIST, 'node'));
  await selectBackend('cpu');
  const t0 = performance.now();
  const model = await loadTfjsModelStreaming(out);
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  process.stdout.write(JSON.stringify({ streamLoadSeconds: Math.round(seconds * 100) / 100, streamLoadPeakRssMiB: peakRssMiB() }) + '\n');
}

/** Runs this script as a child with `argv`; returns its last stdout line as JSON. */
function child(argv) {
  const stdout = execFileSync(process.execPath, [__filename, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function main() {
  const a = args(process.argv.slice(2));
  const [dModel, nLayers, vocab] = [Number(a['d-model']), Number(a.layers), Number(a.vocab)];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-bench-convert-'));
  try {
    const src = path.join(tmp, 'checkpoint');
    const t0 = performance.now();
    await makeCheckpoint(src, dModel, nLayers, vocab);
    const checkpoint = { dModel, nLayers, vocab, layout: 'hf', dtype: 'F32', MiB: mib(dirBytes(src)), makeSeconds: Math.round((performance.now() - t0) / 10) / 100 };
    const runs = [];
    for (const dtype of a.dtypes.split(',')) {
      const out = path.join(tmp, `out-${dtype}`);
      const run = { dtype, ...child(['--child-convert', src, out, dtype]) };
      if (a.load) Object.assign(run, child(['--child-load', out]), child(['--child-stream-load', out]));
      runs.push(run);
      fs.rmSync(out, { recursive: true, force: true });
    }
    console.log(JSON.stringify({ bench: 'convert', node: process.version, cpus: os.cpus().length, checkpoint, runs }, null, 2));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
const run = argv[0] === '--child-convert' ? childConvert(argv[1], argv[2], argv[3])
  : argv[0] === '--child-load' ? childLoad(argv[1])
  : argv[0] === '--child-stream-load' ? childStreamLoad(argv[1])
  : main();
run.catch((err) => {
  console.error(err);
  process.exit(1);
});
