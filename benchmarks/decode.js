#!/usr/bin/env node
/**
 * Decode speed of MambaLM.generate: a random model with mamba-130m's shapes (dModel 768, 24 layers,
 * vocab 50280), a short prompt, greedy decoding of ~32 new tokens, at batch 1 and 8, on the cpu and wasm
 * backends. Prints one JSON object.
 *
 * Run after `npm run build`:  node benchmarks/decode.js [--backends cpu,wasm] [--batches 1,8] [--new 32]
 *                             [--prompt 8] [--d-model 768] [--layers 24] [--vocab 50280]
 */

const tf = require('@tensorflow/tfjs');
const { createMambaLM, findMambaLM, selectBackend } = require('../dist/node.js');
const { generate } = require('../dist/generation/generate.js');

/** --name value pairs of argv, with defaults. */
function args() {
  const out = { backends: 'cpu,wasm', batches: '1,8', new: '32', prompt: '8', 'd-model': '768', layers: '24', vocab: '50280' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in out)) throw new Error(`decode.js: unknown option --${key}; expected one of ${Object.keys(out).map((k) => '--' + k).join(', ')}`);
    out[key] = argv[i + 1];
  }
  return out;
}

/** A progress line on stderr (each config takes minutes on the cpu backend at mamba-130m's size). */
function progress(line) {
  process.stderr.write(`decode.js: ${line}\n`);
}

/** One measurement: prefill time (first token) and decode tokens/s (the steps after it). */
async function measure(model, batch, promptLength, newTokens, vocab, label) {
  const prompt = Array.from({ length: batch }, (_, b) => Array.from({ length: promptLength }, (_, t) => (b * 131 + t * 17) % vocab));
  const stamps = [];
  const start = performance.now();
  const every = Math.max(1, Math.round(newTokens / 4));
  const onToken = () => {
    stamps.push(performance.now());
    const n = stamps.length;
    if (n === 1 || n % every === 0) progress(`${label}: token ${n}/${newTokens} (${((stamps[n - 1] - start) / 1000).toFixed(1)} s)`);
  };
  await generate(model, prompt, { maxNewTokens: newTokens, temperature: 0, onToken });
  const end = performance.now();
  const decodeSteps = stamps.length - 1;
  const decodeS = (stamps[stamps.length - 1] - stamps[0]) / 1000;
  return {
    batch,
    promptLength,
    newTokens: stamps.length,
    prefillMs: +(stamps[0] - start).toFixed(1),
    decodeMsPerStep: +((decodeS * 1000) / decodeSteps).toFixed(1),
    decodeTokensPerS: +((decodeSteps * batch) / decodeS).toFixed(2),
    stepsPerS: +(decodeSteps / decodeS).toFixed(2),
    totalS: +((end - start) / 1000).toFixed(2),
  };
}

async function main() {
  const a = args();
  const shape = { vocabSize: +a.vocab, dModel: +a['d-model'], nLayers: +a.layers };
  const results = [];
  for (const backend of a.backends.split(',')) {
    await selectBackend(backend);
    let t0 = performance.now();
    const model = createMambaLM({ ...shape, seed: 1 });
    const lm = findMambaLM(model);
    progress(`${backend}: model built (${model.countParams()} parameters) in ${((performance.now() - t0) / 1000).toFixed(1)} s; warming up`);
    // Warm up (kernel registration, first allocations).
    t0 = performance.now();
    await generate(model, [[1, 2]], { maxNewTokens: 2, temperature: 0 });
    progress(`${backend}: warmed up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const batch of a.batches.split(',').map(Number)) {
      const before = tf.memory().numTensors;
      const r = await measure(model, batch, +a.prompt, +a.new, lm.vocabSize, `${backend} batch ${batch}`);
      if (tf.memory().numTensors !== before) throw new Error(`decode.js: tensors leaked: ${before} → ${tf.memory().numTensors}`);
      results.push({ backend, ...r });
      progress(`${backend} batch ${batch}: ${r.decodeTokensPerS} tokens/s (prefill ${r.prefillMs} ms)`);
    }
    model.dispose();
  }
  console.log(JSON.stringify({ model: { ...shape, paddedVocab: Math.ceil(shape.vocabSize / 8) * 8 }, node: process.version, cpus: require('os').cpus().length, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
