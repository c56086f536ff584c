const tf = require('@tensorflow/tfjs');
const { createMambaLM, findMambaLM, selectBackend } = require('../dist/node.js');
(async () => {
  await selectBackend('wasm');
  const q = createMambaLM({ vocabSize: 50280, dModel: +process.argv[2], nLayers: +process.argv[3], weightDtype: 'int8', weightInit: 'zeros' });
  const lm = findMambaLM(q);
  let cache = lm.emptyCache(1);
  const ids = tf.tensor1d([5], 'int32');
  for (let i = 0; i < 2; i++) { const o = lm.step(ids, cache); o.logits.dataSync(); tf.dispose(cache); cache = o.cache; o.logits.dispose(); }
  const prof = await tf.profile(() => { const o = lm.step(ids, cache); o.logits.dataSync(); return [o.logits, ...o.cache.flatMap(c => [c.conv, c.ssm])]; });
  const by = {};
  let tot = 0;
  for (const k of prof.kernels) { by[k.name] = by[k.name] || { n: 0, ms: 0 }; by[k.name].n++; by[k.name].ms += (k.kernelTimeMs || 0); tot += k.kernelTimeMs || 0; }
  console.log(prof.kernels.length, 'kernels', tot.toFixed(1), 'ms');
  console.log(Object.entries(by).sort((a, b) => b[1].ms - a[1].ms).slice(0, 8).map(([k, v]) => `${k} n=${v.n} ${v.ms.toFixed(1)}ms`).join('\n'));
  let t0 = performance.now();
  for (let i = 0; i < 3; i++) { const o = lm.step(ids, cache); o.logits.dataSync(); tf.dispose(cache); cache = o.cache; o.logits.dispose(); }
  console.log('step ms', ((performance.now() - t0) / 3).toFixed(1));
})();
