#!/usr/bin/env node
/**
 * The big checkpoints in int8 (#16): for mamba-1.4b and mamba-2.8b shapes with random weights, writes a -hf
 * checkpoint (config.json + BF16 model.safetensors, streamed one tensor at a time), converts it with
 * `mamba-tfjs convert --dtype int8` (streamed: one float32 tensor in memory at a time) in a child process, then in
 * another child loads the result on the wasm backend with the streaming loader (loadModel) and generates greedily.
 * Reports per size: checkpoint and int8 sizes, convert time and peak RSS, load time, wasm heap, decode tokens/s
 * and peak RSS (process.resourceUsage().maxRSS). Prints one JSON object; temporary files are removed at the end.
 *
 * Run after `npm run build`:  node benchmarks/bigInt8.js [--sizes 1.4b,2.8b] [--new 8] [--prompt 4] [--tmp DIR]
 * (--sizes also takes DxL, e.g. 256x4, for a quick check)
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { writeRandomCheckpoint } = require('./checkpoint');

const DIST = path.resolve(__dirname, '../dist');
/** state-spaces/mamba-*-hf shapes. */
const SIZES = { '130m': [768, 24], '370m': [1024, 48], '790m': [1536, 48], '1.4b': [2048, 48], '2.8b': [2560, 64] };

const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const peakRssMiB = () => mib(process.resourceUsage().maxRSS * 1024);
const dirBytes = (dir) => fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);

function args(argv) {
  const out = { sizes: '1.4b,2.8b', new: '8', prompt: '4', tmp: os.tmpdir() };
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

/** config.json + a random BF16 model.safetensors (torch layout), one tensor in memory at a time. */
function makeCheckpoint(dir, dModel, nLayers, vocab) {
  const weights = (plan) => plan.floatWeightShapes({ dModel, nLayers, vocabSize: vocab, padVocabSizeMultiple: 8 });
  return writeRandomCheckpoint(dir, { dModel, nLayers, vocab, dtype: 'BF16' }, weights, (spec, data, next) => {
    const n = data.length;
    if (/A_log$/.test(spec.name)) {
      for (let i = 0; i < n; i++) data[i] = Math.log(1 + (i % spec.shape[1])); // S4D-real
    } else if (/(norm|norm_f)\.weight$|\.D$/.test(spec.name)) {
      data.fill(1);
    } else {
      const fanIn = spec.shape.length > 1 ? spec.shape[spec.shape.length - 1] : 64;
      const scale = /embeddings/.test(spec.name) ? 0.02 : 1 / Math.sqrt(fanIn);
      for (let i = 0; i < n; i++) data[i] = (next() - 0.5) * 2 * scale;
    }
  });
}

/** Child: convert through the CLI registration. */
async function childConvert(src, out) {
  const { Command } = require('commander');
  const { registerConvertCommand } = require(path.join(DIST, 'cli/convertCommand.js'));
  const program = new Command('mamba-tfjs').exitOverride();
  registerConvertCommand(program);
  const log = console.log;
  console.log = () => undefined;
  const t0 = performance.now();
  await program.parseAsync(['node', 'mamba-tfjs', 'convert', src, out, '--dtype', 'int8', '--quiet']);
  console.log = log;
  process.stdout.write(JSON.stringify({ convertSeconds: +((performance.now() - t0) / 1000).toFixed(1), convertPeakRssMiB: peakRssMiB(), int8MiB: mib(dirBytes(out)) }) + '\n');
}

/** Child: load on wasm (streaming loader) and generate greedily. */
async function childGenerate(out, prompt, newTokens) {
  const tf = require('@tensorflow/tfjs');
  const { loadModel, selectBackend, generate } = require(path.join(DIST, 'node'));
  await selectBackend('wasm');
  let t0 = performance.now();
  const { model } = await loadModel(out);
  const loadSeconds = +((performance.now() - t0) / 1000).toFixed(1);
  const heapMiB = mib(tf.backend().wasm.HEAPU8.buffer.byteLength);
  const loadPeakRssMiB = peakRssMiB();
  const ids = Array.from({ length: prompt }, (_, i) => 100 + i * 37);
  const stamps = [];
  t0 = performance.now();
  const res = await generate(model, [ids], { maxNewTokens: newTokens, temperature: 0, onToken: () => stamps.push(performance.now()) });
  const decodeS = (stamps[stamps.length - 1] - stamps[0]) / 1000;
  process.stdout.write(JSON.stringify({
    backend: 'wasm', loadSeconds, loadPeakRssMiB, wasmHeapMiB: heapMiB, prefillMs: +(stamps[0] - t0).toFixed(0),
    decodeTokensPerS: +((stamps.length - 1) / decodeS).toFixed(3), newTokens: stamps.length, peakRssMiB: peakRssMiB(),
    finite: res.sequences[0].every((t) => Number.isInteger(t)), tokens: res.sequences[0].slice(prompt),
  }) + '\n');
}

function child(argv) {
  const stdout = execFileSync(process.execPath, ['--max-old-space-size=8192', __filename, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function main() {
  const a = args(process.argv.slice(2));
  const runs = [];
  for (const size of a.sizes.split(',')) {
    const [dModel, nLayers] = SIZES[size] ?? size.split('x').map(Number);
    const tmp = fs.mkdtempSync(path.join(a.tmp, 'mamba-big-int8-'));
    try {
      const src = path.join(tmp, 'checkpoint');
      const out = path.join(tmp, 'int8');
      let t0 = performance.now();
      process.stderr.write(`bigInt8.js: ${size}: writing a random BF16 checkpoint\n`);
      await makeCheckpoint(src, dModel, nLayers, 50280);
      const run = { size, dModel, nLayers, vocab: 50280, checkpointMiB: mib(dirBytes(src)), makeSeconds: +((performance.now() - t0) / 1000).toFixed(1), loadAvgBefore: os.loadavg()[0] };
      process.stderr.write(`bigInt8.js: ${size}: converting to int8\n`);
      Object.assign(run, child(['--child-convert', src, out]));
      fs.rmSync(src, { recursive: true, force: true });
      process.stderr.write(`bigInt8.js: ${size}: loading on wasm and generating\n`);
      Object.assign(run, child(['--child-generate', out, a.prompt, a.new]), { loadAvgAfter: os.loadavg()[0] });
      process.stderr.write(`bigInt8.js: ${JSON.stringify(run)}\n`);
      runs.push(run);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify({ bench: 'big-int8', date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1), runs }, null, 2));
}

const argv = process.argv.slice(2);
const run = argv[0] === '--child-convert' ? childConvert(argv[1], argv[2])
  : argv[0] === '--child-generate' ? childGenerate(argv[1], +argv[2], +argv[3])
  : main();
run.catch((err) => {
  console.error(err);
  process.exit(1);
});
