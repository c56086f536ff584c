/**
 * The file:// handler loads a model's weight files as one ArrayBuffer each (no 2 GiB concatenation),
 * including weights that span files and shard sizes that tfjs 4.22's CompositeArrayBuffer would
 * otherwise misread (every buffer but the last of one size, the last bigger).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { fileSystem } from '../../src/io/tfjs/fsHandler';
import { createMambaLM } from '../../src/layers/factories';

let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-fsshards-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes a model directory whose weights are the float32 values 0, 1, 2, ... cut into files of `fileFloats` floats. */
function fakeModel(name: string, weights: { name: string; shape: number[] }[], fileFloats: number[]): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const total = weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  expect(fileFloats.reduce((a, b) => a + b, 0)).toBe(total);
  const values = Float32Array.from({ length: total }, (_, i) => i);
  const paths: string[] = [];
  let at = 0;
  fileFloats.forEach((n, i) => {
    const file = `group1-shard${i + 1}of${fileFloats.length}.bin`;
    fs.writeFileSync(path.join(dir, file), Buffer.from(values.buffer, at * 4, n * 4));
    paths.push(file);
    at += n;
  });
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
    modelTopology: {},
    weightsManifest: [{ paths, weights: weights.map((w) => ({ ...w, dtype: 'float32' })) }],
  }));
  return dir;
}

/** Loads `dir` through the handler and decodes its weights as tfjs does. */
async function decoded(dir: string): Promise<{ data: tf.io.WeightData | undefined; values: Record<string, number[]> }> {
  const artifacts = await fileSystem(dir).load!();
  const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const values = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.dataSync())]));
  tf.dispose(Object.values(tensors));
  return { data: artifacts.weightData, values };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

test('one ArrayBuffer per weight file; weights within files', async () => {
  const dir = fakeModel('plain', [{ name: 'a', shape: [2, 2] }, { name: 'b', shape: [3] }, { name: 'c', shape: [5] }], [4, 3, 5]);
  const { data, values } = await decoded(dir);
  expect(Array.isArray(data)).toBe(true);
  expect((data as ArrayBuffer[]).map((b) => b.byteLength)).toEqual([16, 12, 20]);
  expect(values).toEqual({ a: range(0, 4), b: range(4, 3), c: range(7, 5) });
});

test('a weight spanning several files', async () => {
  const dir = fakeModel('spanning', [{ name: 'a', shape: [3] }, { name: 'b', shape: [7] }, { name: 'c', shape: [2] }], [4, 2, 6]);
  expect((await decoded(dir)).values).toEqual({ a: range(0, 3), b: range(3, 7), c: range(10, 2) });
});

test('equal shards then a bigger last one (which tfjs 4.22 alone would read as zeros)', async () => {
  const dir = fakeModel('uneven', [{ name: 'x', shape: [6] }, { name: 'y', shape: [2] }, { name: 'z', shape: [5] }], [2, 2, 9]);
  const { data, values } = await decoded(dir);
  expect(values).toEqual({ x: range(0, 6), y: range(6, 2), z: range(8, 5) });
  expect((data as ArrayBuffer[]).map((b) => b.byteLength)).toEqual([8, 8, 8, 8, 8, 8, 4]);
});

test('empty weight files are skipped', async () => {
  const dir = fakeModel('empty', [{ name: 'a', shape: [0] }, { name: 'b', shape: [3] }], [0, 3]);
  expect((await decoded(dir)).values).toEqual({ a: [], b: range(0, 3) });
});

test('a MambaLM saved in many shards loads through tf.loadLayersModel unchanged', async () => {
  const model = createMambaLM({ vocabSize: 40, dModel: 8, nLayers: 2, seed: 3 });
  const dir = path.join(tmp, 'lm');
  await model.save(fileSystem(dir, { shardSizeBytes: 1000 }));
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).length).toBeGreaterThan(5);
  const again = await tf.loadLayersModel(`file://${dir}/model.json`);
  const a = model.getWeights();
  const b = again.getWeights();
  expect(b.length).toBe(a.length);
  a.forEach((w, i) => expect(Array.from(b[i].dataSync())).toEqual(Array.from(w.dataSync())));
  model.dispose();
  again.dispose();
});
