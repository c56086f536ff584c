#!/usr/bin/env node
/**
 * One decoding step of a random mamba-130m-shaped MambaLM on wasm, fused (MAMBA_TFJS_FUSED_STEP: MambaMixerStep and
 * MambaRmsNormStep) against unfused, the two INTERLEAVED step by step so that a shared machine's load falls on both
 * alike; float32 and int8 (quantize()). Per variant: tfjs kernels per token (tf.profile, reshapes counted apart),
 * the fastest and the median step, and beside them the bandwidth limit (bytes read per token / a streaming read
 * measured in the same run, as benchmarks/decode.js). Prints one JSON object.
 *
 * Run after `npm run build`:  node benchmarks/decodeStep.js [--steps 40] [--dtypes float32,int8] [--layers 24]
 */
const tf = require('@tensorflow/tfjs');
const { createMambaLM, findMambaLM, selectBackend, quantize, disposeCache } = require('../dist/node.js');
const { readBandwidthGBps } = require('./bandwidth');

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);


function bytesPerToken(model) {
  const lm = findMambaLM(model);
  const skip = lm.lmHead ? new Set(['backbone.embeddings.weight', 'backbone.embeddings.weight_scale']) : new Set();
  return model.weights.filter((w) => !skip.has(w.originalName)).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
}

async function main() {
  await selectBackend('wasm');
  const steps = +opt('steps', 40);
  const float = createMambaLM({ vocabSize: 50280, dModel: 768, nLayers: +opt('layers', 24), seed: 1 });
  const results = [];
  for (const dtype of opt('dtypes', 'float32,int8').split(',')) {
    const model = dtype === 'int8' ? quantize(float) : float;
    const lm = findMambaLM(model);
    const head = lm.decodeHeadKernel();
    const state = {};
    for (const fused of [false, true]) state[fused] = { cache: lm.emptyCache(1), ms: [], kernels: null };
    const once = (fused) => {
      tf.env().set('MAMBA_TFJS_FUSED_STEP', fused);
      const s = state[fused];
      const ids = tf.tensor1d([(s.ms.length * 7919) % 50280], 'int32');
      const t0 = performance.now();
      const out = lm.step(ids, s.cache, head);
      out.logits.dataSync();
      const ms = performance.now() - t0;
      tf.dispose([ids, out.logits]);
      disposeCache(s.cache);
      s.cache = out.cache;
      return ms;
    };
    for (const fused of [false, true]) {
      once(fused);
      tf.env().set('MAMBA_TFJS_FUSED_STEP', fused);
      const ids = tf.tensor1d([1], 'int32');
      const info = await tf.profile(() => {
        const out = lm.step(ids, state[fused].cache, head);
        disposeCache(out.cache);
        return out.logits;
      });
      ids.dispose();
      const names = info.kernels.map((k) => k.name);
      state[fused].kernels = { all: names.length, reshapes: names.filter((n) => n === 'Reshape').length };
    }
    const gbps = [];
    for (let i = 0; i < steps; i++) {
      if (i % 10 === 0) gbps.push(readBandwidthGBps(256));
      for (const fused of i % 2 ? [true, false] : [false, true]) state[fused].ms.push(once(fused));
    }
    const bytes = bytesPerToken(model);
    const bw = Math.max(...gbps);
    const limit = (bw * 1e9) / bytes;
    for (const fused of [false, true]) {
      const ms = [...state[fused].ms].sort((a, b) => a - b);
      const fastest = ms[0];
      const median = ms[ms.length >> 1];
      results.push({
        dtype, fused, kernelsPerToken: state[fused].kernels, fastestMs: +fastest.toFixed(2), medianMs: +median.toFixed(2),
        fastestTokensPerS: +(1000 / fastest).toFixed(2), medianTokensPerS: +(1000 / median).toFixed(2), bytesPerToken: bytes,
        readGBps: +bw.toFixed(2), limitTokensPerS: +limit.toFixed(2), fastestFractionOfLimit: +(1000 / fastest / limit).toFixed(3),
        medianFractionOfLimit: +(1000 / median / limit).toFixed(3),
      });
      process.stderr.write(`decodeStep.js: ${dtype} fused ${fused}: ${JSON.stringify(results[results.length - 1])}\n`);
      disposeCache(state[fused].cache);
    }
    head?.dispose();
    if (model !== float) model.dispose();
  }
  float.dispose();
  console.log(JSON.stringify({ node: process.version, cpus: require('os').cpus().length, load: require('os').loadavg(), date: new Date().toISOString(), results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
