/**
 * Agreement with the float64 reference on every fixture and scan mode (cpu): logits, loss, worst gradient.
 * Usage: npm run build && node benchmarks/accuracy.js
 */
const path = require('path');
const FIXTURES = path.resolve(__dirname, '../test/fixtures');
const tf = require('@tensorflow/tfjs');
const m = require('../dist');
const { SafetensorsFile } = require('../dist/io/safetensors');
(async () => {
  await tf.setBackend('cpu');
  for (const fx of ['tiny-hf', 'tiny-hf-bf16', 'tiny-orig']) {
    const ref = await SafetensorsFile.open(`${FIXTURES}/${fx}/reference.safetensors`);
    const ids = tf.tensor2d(await ref.readInt32('input_ids'), ref.entry('input_ids').shape, 'int32');
    const rl = await ref.readFloat32('logits');
    for (const mode of ['pscan', 'sequential', 'fused']) {
      const model = await m.loadCheckpoint(`${FIXTURES}/${fx}`, { scanMode: mode });
      const lm = m.findMambaLM(model);
      const l = lm.call(ids, {}).dataSync();
      let d = 0; for (let i = 0; i < l.length; i++) d = Math.max(d, Math.abs(l[i] - rl[i]));
      const [b, L] = ids.shape;
      const vars = lm.weights.map((w) => w.read());
      const { value, grads } = tf.variableGrads(() => { const out = lm.call(ids, {}); return m.lmLoss(tf.slice(ids, [0, 1], [b, L - 1]), tf.slice(out, [0, 0, 0], [b, L - 1, out.shape[2]])); }, vars);
      let worst = 0;
      for (const w of lm.weights) {
        const g = grads[w.read().name];
        const { toTorch } = require('../dist/io/weightLayout');
        const t = toTorch(w.originalName, g.dataSync(), g.shape).data;
        const r = await ref.readFloat32(`grad.${w.originalName}`);
        let md = 0, mx = 0; for (let i = 0; i < r.length; i++) { md = Math.max(md, Math.abs(t[i] - r[i])); mx = Math.max(mx, Math.abs(r[i])); }
        worst = Math.max(worst, md / mx);
      }
      const rloss = (await ref.readFloat32('loss'))[0];
      console.log(`${fx} ${mode}: logits max|diff| ${d.toExponential(2)}, loss rel ${(Math.abs(value.dataSync()[0] - rloss) / rloss).toExponential(2)}, worst grad rel ${worst.toExponential(2)}`);
      model.dispose();
    }
  }
})();
