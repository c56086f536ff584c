import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { loadModel, loadTfjsModelStreaming } from '../../src/io/loadModel';
import { createMambaLM } from '../../src/layers/factories';
import { expectAllClose } from '../helpers/close';
import { fixtureDir, openReference } from '../helpers/fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('a converted checkpoint loads weight by weight and equals the reference', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-stream-'));
  const out = path.join(tmp, 'm');
  await convertCheckpoint(fixtureDir('tiny-orig'), out, { shardBytes: 4096 });
  expect(fs.readdirSync(out).filter((f) => f.endsWith('.bin')).length).toBeGreaterThan(3);
  const ref = await openReference('tiny-orig');
  const ids = await ref.int('input_ids');
  const x = tf.tensor2d(ids.data, ids.shape as [number, number], 'int32');
  const model = await loadTfjsModelStreaming(out);
  const logits = model.predict(x) as tf.Tensor;
  expectAllClose(logits.dataSync(), (await ref.float('logits')).data, 1e-4, 'streamed logits');
  const viaTf = await tf.loadLayersModel(`file://${out}/model.json`);
  const logits2 = viaTf.predict(x) as tf.Tensor;
  expect(Array.from(logits2.dataSync())).toEqual(Array.from(logits.dataSync()));
  const { kind } = await loadModel(out).then((r) => (r.model.dispose(), r));
  expect(kind).toBe('tfjs');
  tf.dispose([x, logits, logits2]);
  model.dispose();
  viaTf.dispose();
  await ref.file.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a model saved by model.save streams back exactly; a missing weight is named', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-stream-'));
  const model = createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, seed: 3 });
  await model.save(`file://${tmp}/s`);
  const again = await loadTfjsModelStreaming(`${tmp}/s`);
  const x = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
  const a = model.predict(x) as tf.Tensor;
  const b = again.predict(x) as tf.Tensor;
  expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  const json = JSON.parse(fs.readFileSync(`${tmp}/s/model.json`, 'utf8'));
  for (const w of json.weightsManifest[0].weights) if (w.name === 'backbone.norm_f.weight') w.name = 'backbone.norm_x.weight';
  fs.writeFileSync(`${tmp}/s/model.json`, JSON.stringify(json));
  await expect(loadTfjsModelStreaming(`${tmp}/s`)).rejects.toThrow(/unexpected key "backbone.norm_x.weight" in .*weights.bin: the model has no such weight/); // checked before building
  tf.dispose([x, a, b]);
  model.dispose();
  again.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});
