/**
 * Agreement with the float64 reference on every fixture and scan mode (cpu): logits, loss, worst gradient.
 * Usage: npm run build && node benchmarks/accuracy.js
 */
const path = require('path');
const FIXTURES = path.resolve(__dirname, '../test/fixtures');
const tf = require('@tensorflow/tfjs');
const m = require('../dist/node');
const { SafetensorsFile } = require('../dist/io/safetensors');
const { toTorch } = require('../dist/io/hf/layout');

/** Largest |a - b| over two arrays of equal length. */
function maxDiff(a, b) {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** One line per scan mode for fixture `fx`, against `ref` (its reference.safetensors). */
async function checkFixture(fx, ref) {
  const ids = tf.tensor2d(await ref.readInt32('input_ids'), ref.entry('input_ids').shape, 'int32'); // (B, L)
  const rl = await ref.readFloat32('logits');
  const rloss = (await ref.readFloat32('loss'))[0];
  const [b, L] = ids.shape;
  for (const mode of ['pscan', 'sequential', 'fused']) {
    const model = await m.loadCheckpoint(`${FIXTURES}/${fx}`, { scanMode: mode });
    const lm = m.findMambaLM(model);
    const d = maxDiff(tf.tidy(() => lm.call(ids, {}).dataSync()), rl); // logits (B, L, V)
    const vars = lm.weights.map((w) => w.read());
    const { value, grads } = tf.variableGrads(() => {
      const out = lm.call(ids, {}); // (B, L, V)
      return m.lmLoss(tf.slice(ids, [0, 1], [b, L - 1]), tf.slice(out, [0, 0, 0], [b, L - 1, out.shape[2]]));
    }, vars);
    let worst = 0;
    for (const w of lm.weights) {
      const g = grads[w.read().name];
      const t = toTorch(w.originalName, g.dataSync(), g.shape).data;
      const r = await ref.readFloat32(`grad.${w.originalName}`);
      worst = Math.max(worst, maxDiff(t, r) / maxDiff(r, new Float32Array(r.length)));
    }
    const loss = value.dataSync()[0];
    console.log(`${fx} ${mode}: logits max|diff| ${d.toExponential(2)}, loss rel ${(Math.abs(loss - rloss) / rloss).toExponential(2)}, worst grad rel ${worst.toExponential(2)}`);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  }
  ids.dispose();
}

(async () => {
  await m.selectBackend('cpu');
  for (const fx of ['tiny-hf', 'tiny-hf-bf16', 'tiny-orig']) {
    const ref = await SafetensorsFile.open(`${FIXTURES}/${fx}/reference.safetensors`);
    try {
      await checkFixture(fx, ref);
    } finally {
      await ref.close(); // closed here, not left to the garbage collector (Node's DEP0137 warning)
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
