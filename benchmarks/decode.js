#!/usr/bin/env node
/**
 * Decode speed of MambaLM.generate: a random model with mamba-130m's shapes (dModel 768, 24 layers,
 * vocab 50280), a short prompt, greedy decoding of ~32 new tokens, at batch 1 and 8, on the cpu and wasm
 * backends, with float32 and (--dtypes float32,int8) int8 weights (quantize()). Beside each decode figure: the
 * bandwidth limit, bytes read per token (every weight once: the projections and the head) / the read bandwidth
 * measured in the same run by a streaming SIMD read of 512 MiB (asm/int8.ts int8StreamRead). Prints one JSON object.
 *
 * Run after `npm run build`:  node benchmarks/decode.js [--backends cpu,wasm] [--batches 1,8] [--new 32]
 *                             [--prompt 8] [--d-model 768] [--layers 24] [--vocab 50280] [--dtypes float32,int8]
 *                             [--rounds R: the dtypes alternate R times]
 *                             [--fused-step true,false: MAMBA_TFJS_FUSED_STEP per figure, alternating within each round]
 */

const tf = require('@tensorflow/tfjs');
const { createMambaLM, findMambaLM, selectBackend, quantize } = require('../dist/node.js');
const { readBandwidthGBps } = require('./bandwidth');
const { generate } = require('../dist/generation/generate.js');

/** --name value pairs of argv, with defaults. */
function args() {
  const out = { backends: 'cpu,wasm', batches: '1,8', new: '32', prompt: '8', 'd-model': '768', layers: '24', vocab: '50280', dtypes: 'float32', rounds: '1', 'fused-step': '' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in out)) throw new Error(`decode.js: unknown option --${key}; expected one of ${Object.keys(out).map((k) => '--' + k).join(', ')}`);
    out[key] = argv[i + 1];
  }
  return out;
}

/** Threads of tfjs-wasm's XNNPACK pool (MAMBA_TFJS_WASM_THREADS; 'auto' picks the free cores when the backend starts). */
function wasmThreads() {
  return require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1;
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
  // The fastest step: the least disturbed by other processes on a shared machine (the mean is beside it).
  const fastestMs = Math.min(...stamps.slice(1).map((t, i) => t - stamps[i]));
  return {
    fastestStepMs: +fastestMs.toFixed(1),
    fastestStepsPerS: +(1000 / fastestMs).toFixed(2),
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


/** Bytes a decoding step reads: every weight once, except the embedding of an untied model (one row of it). */
function bytesPerToken(model) {
  const lm = findMambaLM(model);
  const skip = lm.lmHead ? new Set(['backbone.embeddings.weight', 'backbone.embeddings.weight_scale']) : new Set();
  return model.weights.filter((w) => !skip.has(w.originalName)).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
}

async function main() {
  const a = args();
  const shape = { vocabSize: +a.vocab, dModel: +a['d-model'], nLayers: +a.layers };
  const results = [];
  for (const backend of a.backends.split(',')) {
    await selectBackend(backend);
    let t0 = performance.now();
    const floatModel = createMambaLM({ ...shape, seed: 1 });
    progress(`${backend}: model built (${floatModel.countParams()} parameters) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const models = a.dtypes.split(',').map((dtype) => ({ dtype, model: dtype === 'int8' ? quantize(floatModel) : floatModel }));
    for (const { dtype, model } of models) {
      // Warm up (kernel registration, first allocations).
      t0 = performance.now();
      await generate(model, [[1, 2]], { maxNewTokens: 2, temperature: 0 });
      progress(`${backend} ${dtype}: warmed up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    // --rounds R: the dtypes alternate R times, so that a shared machine's load falls on each alike.
    for (let round = 1; round <= +a.rounds; round++) {
      for (const batch of a.batches.split(',').map(Number)) {
        for (const { dtype, model } of models) for (const fusedStep of a['fused-step'] ? a['fused-step'].split(',') : ['']) {
          if (fusedStep) tf.env().set('MAMBA_TFJS_FUSED_STEP', fusedStep === 'true');
          const bytes = bytesPerToken(model);
          const gbps = +readBandwidthGBps(512).toFixed(2); // measured next to each figure: the machine is shared
          const before = tf.memory().numTensors;
          const r = await measure(model, batch, +a.prompt, +a.new, findMambaLM(model).vocabSize, `${backend} ${dtype} batch ${batch}${fusedStep ? ' fused ' + fusedStep : ''}`);
          if (tf.memory().numTensors !== before) throw new Error(`decode.js: tensors leaked: ${before} → ${tf.memory().numTensors}`);
          const limit = (gbps * 1e9) / bytes;
          results.push({
            backend, dtype, ...(backend === 'wasm' ? { wasmThreads: wasmThreads() } : {}), ...(fusedStep ? { fusedStep: fusedStep === 'true' } : {}), round, ...r, bytesPerToken: bytes, readGBps: gbps, limitStepsPerS: +limit.toFixed(2),
            fractionOfLimit: +(r.stepsPerS / limit).toFixed(3), fastestFractionOfLimit: +(r.fastestStepsPerS / limit).toFixed(3),
          });
          progress(`${backend}${backend === 'wasm' ? ` (${wasmThreads()} threads)` : ''} ${dtype}${fusedStep ? ' fused ' + fusedStep : ''} batch ${batch} round ${round}: ${r.decodeTokensPerS} tokens/s (${r.stepsPerS} steps/s, fastest step ${r.fastestStepsPerS}/s; limit ${(bytes / 1e6).toFixed(0)} MB / ${gbps} GB/s = ${limit.toFixed(1)} steps/s; prefill ${r.prefillMs} ms)`);
        }
      }
    }
    for (const { model } of models) if (model !== floatModel) model.dispose();
    floatModel.dispose();
  }
  console.log(JSON.stringify({ model: { ...shape, paddedVocab: Math.ceil(shape.vocabSize / 8) * 8 }, node: process.version, cpus: require('os').cpus().length, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
