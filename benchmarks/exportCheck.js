#!/usr/bin/env node
/**
 * Prepares the check that HF transformers loads what `export-hf` writes (benchmarks/export_check.py runs it
 * where PyTorch and transformers are installed, e.g. the GPU machine):
 *   npm run build && node benchmarks/exportCheck.js scratch/export-check
 *   python3 benchmarks/export_check.py scratch/export-check      # prints and writes result.json
 * Cases, each a directory under the output with `hf/` (the export) and `case.json` (input ids and the logits of
 * our tfjs model for them, float32, flattened):
 * - every fixture in test/fixtures: convert → tfjs model → export-hf (also holds the fixture's reference
 *   logits, from transformers in float64);
 * - a fresh MambaLM made in tfjs (vocab 100, padded to 104; all weights randomised), saved, then exported.
 */
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const mamba = require('../dist/node');
const { SafetensorsFile } = require('../dist/io/safetensors');

const fixtures = path.join(__dirname, '..', 'test', 'fixtures');

/** Logits of `model` for `ids` (B, L), flattened. */
async function logitsOf(model, ids) {
  const x = tf.tensor2d(ids, undefined, 'int32'); // (B, L)
  const y = model.predict(x); // (B, L, Vp)
  const out = { shape: y.shape, data: Array.from(await y.data()) };
  tf.dispose([x, y]);
  return out;
}

async function writeCase(dir, model, ids, extra = {}) {
  const logits = await logitsOf(model, ids);
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify({ input_ids: ids, logits, ...extra }));
}

async function fixtureCase(outRoot, name) {
  const dir = path.join(outRoot, name);
  await mamba.convertCheckpoint(path.join(fixtures, name), path.join(dir, 'tfjs'));
  await mamba.exportHf(path.join(dir, 'tfjs'), path.join(dir, 'hf'));
  const { model } = await mamba.loadModel(path.join(dir, 'tfjs'));
  const ref = await SafetensorsFile.open(path.join(fixtures, name, 'reference.safetensors'));
  const [b, l] = ref.entry('input_ids').shape;
  const flat = Array.from(await ref.readInt32('input_ids'));
  const ids = Array.from({ length: b }, (_, i) => flat.slice(i * l, (i + 1) * l));
  const refLogits = { shape: ref.entry('logits').shape, data: Array.from(await ref.readFloat32('logits')) };
  await ref.close();
  await writeCase(dir, model, ids, { reference_logits: refLogits });
  model.dispose();
}

async function freshCase(outRoot) {
  const dir = path.join(outRoot, 'fresh-tfjs');
  const model = mamba.createMambaLM({ vocabSize: 100, dModel: 32, nLayers: 2, seed: 3 });
  // Randomise every weight (the paper init has D = 1, zero-free conv bias etc.; a transposed or swapped tensor
  // must show in the logits).
  model.weights.forEach((w, i) => {
    tf.tidy(() => w.write(tf.add(w.read(), tf.randomNormal(w.shape, 0, 0.2, 'float32', 100 + i)))); // (same shape)
  });
  fs.mkdirSync(dir, { recursive: true });
  await model.save(`file://${path.join(dir, 'tfjs')}`);
  await mamba.exportHf(path.join(dir, 'tfjs'), path.join(dir, 'hf'));
  const ids = [Array.from({ length: 23 }, (_, t) => (t * 37 + 5) % 100), Array.from({ length: 23 }, (_, t) => (t * 11 + 90) % 100)];
  await writeCase(dir, model, ids);
  model.dispose();
}

async function main() {
  const outRoot = path.resolve(process.argv[2] || 'scratch/export-check');
  fs.rmSync(outRoot, { recursive: true, force: true });
  fs.mkdirSync(outRoot, { recursive: true });
  mamba.registerFileSystemHandler();
  await mamba.selectBackend('cpu');
  for (const name of fs.readdirSync(fixtures).filter((n) => fs.existsSync(path.join(fixtures, n, 'config.json')))) {
    await fixtureCase(outRoot, name);
    console.error(`prepared ${name}`);
  }
  await freshCase(outRoot);
  console.error(`prepared fresh-tfjs; now run: python3 benchmarks/export_check.py ${outRoot}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
