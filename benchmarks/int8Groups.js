#!/usr/bin/env node
/**
 * Per-row or per-group int8 scales? Simulated quantization (weights rounded to int8 with one scale per output row,
 * or per group of G inputs within a row, then stored back as float32) on the fixtures' projections, embedding and
 * head; reports max |Δ logit| / float32 logit range for each choice. Prints one JSON object.
 *
 * Run after `npm run build`:  node benchmarks/int8Groups.js [--groups 8,16,32]
 */
const path = require('path');
const tf = require('@tensorflow/tfjs');
const { loadCheckpoint, int8Layout, selectBackend } = require('../dist/node.js');
const { SafetensorsFile } = require('../dist/io/safetensors');

const FIXTURES = ['tiny-hf', 'tiny-hf-bf16', 'tiny-orig', 'tiny-hf-eps', 'tiny-hf-untied', 'tiny-falcon-mamba-hf'];
const groups = (process.argv[3] ?? '8,16,32').split(',').map(Number);

/** Rows (O, I) of w (row-major) rounded to int8 with a scale per run of g inputs (g = I: per row), as float32. */
function fakeQuant(rows, o, i, g) {
  const out = new Float32Array(rows.length);
  for (let r = 0; r < o; r++) {
    for (let s = 0; s < i; s += g) {
      let mx = 0;
      for (let k = s; k < Math.min(i, s + g); k++) mx = Math.max(mx, Math.abs(rows[r * i + k]));
      const sc = mx > 0 ? mx / 127 : 1;
      for (let k = s; k < Math.min(i, s + g); k++) out[r * i + k] = Math.round(rows[r * i + k] / sc) * sc;
    }
  }
  return out;
}

function transpose(a, r, c) {
  const out = new Float32Array(a.length);
  for (let x = 0; x < r; x++) for (let y = 0; y < c; y++) out[y * r + x] = a[x * c + y];
  return out;
}

async function main() {
  await selectBackend('cpu');
  const results = [];
  for (const fixture of FIXTURES) {
    const dir = path.join(__dirname, '../test/fixtures', fixture);
    const ref = await SafetensorsFile.open(path.join(dir, 'reference.safetensors'));
    const ids = tf.tensor(await ref.readInt32('input_ids'), ref.entry('input_ids').shape, 'int32');
    await ref.close();
    const model = await loadCheckpoint(dir);
    const logits = (m) => tf.tidy(() => m.predict(ids).dataSync());
    const base = logits(model);
    const range = Math.max(...base) - Math.min(...base);
    const row = { fixture };
    for (const g of ['row', ...groups]) {
      const saved = model.weights.map((w) => w.read().clone());
      for (const w of model.weights) {
        const layout = int8Layout(w.originalName);
        if (!layout) continue;
        const [a, b] = w.shape;
        const data = w.read().dataSync();
        const rows = layout === 'kernel' ? transpose(data, a, b) : data; // (O, I)
        const [o, i] = layout === 'kernel' ? [b, a] : [a, b];
        const q = fakeQuant(rows, o, i, g === 'row' ? i : g);
        w.write(tf.tensor(layout === 'kernel' ? transpose(q, o, i) : q, w.shape));
      }
      const got = logits(model);
      row[g === 'row' ? 'perRow' : `group${g}`] = +((100 * Math.max(...got.map((v, k) => Math.abs(v - base[k])))) / range).toFixed(3);
      model.weights.forEach((w, k) => w.write(saved[k]));
    }
    results.push(row);
    model.dispose();
    ids.dispose();
  }
  console.log(JSON.stringify({ bench: 'int8-groups', unit: 'max |Δ logit| as % of the float32 logit range', results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
