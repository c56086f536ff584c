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
const { createMambaLM, findMambaLM, selectBackend } = require('../dist/index.js');
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

/** One measurement: prefill time (first token) and decode tokens/s (the steps after it). */
async function measure(model, batch, promptLength, newTokens, vocab) {
  const prompt = Array.from({ length: batch }, (_, b) => Array.from({ length: promptLength }, (_, t) => (b * 131 + t * 17) % vocab));
  const stamps = [];
  const start = performance.now();
  await generate(model, prompt, { maxNewTokens: newTokens, temperature: 0, onToken: () => { stamps.push(performance.now()); } });
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
    const model = createMambaLM({ ...shape, seed: 1 });
    const lm = findMambaLM(model);
    // Warm up (kernel registration, first allocations).
    await generate(model, [[1, 2]], { maxNewTokens: 2, temperature: 0 });
    for (const batch of a.batches.split(',').map(Number)) {
      const before = tf.memory().numTensors;
      const r = await measure(model, batch, +a.prompt, +a.new, lm.vocabSize);
      if (tf.memory().numTensors !== before) throw new Error(`decode.js: tensors leaked: ${before} → ${tf.memory().numTensors}`);
      results.push({ backend, ...r });
      process.stderr.write(`${backend} batch ${batch}: ${r.decodeTokensPerS} tokens/s\n`);
    }
    model.dispose();
  }
  console.log(JSON.stringify({ model: { ...shape, paddedVocab: Math.ceil(shape.vocabSize / 8) * 8 }, node: process.version, cpus: require('os').cpus().length, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
