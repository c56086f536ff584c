/**
 * Tests of the file:// IOHandler for pure tfjs: save/load round trips through tf.io routers,
 * sharded weights, atomic replacement, and clear errors.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileSystem, registerFileSystemHandler } from '../../src/io/tfjs/fsHandler';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  registerFileSystemHandler();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fshandler-test-'));
});
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

/** A small dense model with deterministic weights. */
function makeModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), biasInitializer: 'ones' }));
  return model;
}

/** The model's output on a fixed input batch. */
function predict(model: tf.LayersModel): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d([[1, 2, 3, 4], [-1, 0.5, 0, 2]])) as tf.Tensor).dataSync() as Float32Array);
}

/** Entries of the temporary directory that look like our leftovers. */
function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.includes('.tmp-'));
}

describe('file:// handler', () => {
  test('registration is idempotent and answers file:// URLs once', () => {
    registerFileSystemHandler();
    registerFileSystemHandler();
    expect(tf.io.getSaveHandlers('file:///tmp/x')).toHaveLength(1);
    expect(tf.io.getLoadHandlers('file:///tmp/x')).toHaveLength(1);
    expect(tf.io.getSaveHandlers('nothing://x')).toHaveLength(0);
  });

  test('save then load gives identical predictions; model.json has the tfjs-node layout; no tensors leak', async () => {
    const model = makeModel();
    const expected = predict(model);
    const before = tf.memory().numTensors;
    const dir = path.join(tmp, 'm');
    const result = await model.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe((4 * 8 + 8 + 8 * 3 + 3) * 4);

    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest']));
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toMatch(/^TensorFlow\.js tfjs-layers v/);
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { shape: number[] }) => w.shape)).toEqual([[4, 8], [8], [8, 3], [3]]);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(result.modelArtifactsInfo.weightDataBytes);

    for (const url of [`file://${dir}/model.json`, `file://${dir}`]) {
      const loaded = await tf.loadLayersModel(url);
      expect(Array.from(predict(loaded))).toEqual(Array.from(expected));
      loaded.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('sharded save, re-save into an existing directory, other files kept and stale shards removed', async () => {
    const model = makeModel();
    const expected = predict(model);
    const dir = path.join(tmp, 'sharded');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    await model.save(fileSystem(dir, { shardSizeBytes: 100 }));
    const total = (4 * 8 + 8 + 8 * 3 + 3) * 4; // 268 bytes -> 3 shards
    expect(fs.readdirSync(dir).sort()).toEqual(['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin', 'model.json', 'notes.txt']);
    expect(fs.statSync(path.join(dir, 'group1-shard3of3.bin')).size).toBe(total - 200);
    const fromShards = await tf.loadLayersModel(fileSystem(dir));
    expect(Array.from(predict(fromShards))).toEqual(Array.from(expected));
    fromShards.dispose();

    await model.save(`file://${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'notes.txt', 'weights.bin']);
    const fromSingle = await tf.loadLayersModel(`file://${dir}/model.json`);
    expect(Array.from(predict(fromSingle))).toEqual(Array.from(expected));
    fromSingle.dispose();
    expect(leftovers(dir)).toEqual([]);
    model.dispose();
  });

  test('saving creates missing parent directories', async () => {
    const model = makeModel();
    const dir = path.join(tmp, 'deep', 'er', 'm');
    await model.save(`file://${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    model.dispose();
  });

  test('a failed save leaves no directory behind', async () => {
    const model = makeModel();
    const blocker = path.join(tmp, 'afile');
    fs.writeFileSync(blocker, 'not a directory');
    const before = fs.readdirSync(tmp).sort();
    await expect(model.save(`file://${blocker}/m`)).rejects.toThrow(/Cannot save model to .*afile[/\\]m: cannot create parent directory/);
    await expect(model.save(`file://${blocker}/sub/m`)).rejects.toThrow(/cannot create parent directory/);
    await expect(model.save(`file://${blocker}`)).rejects.toThrow(/afile: it exists and is not a directory/);
    expect(fs.readFileSync(blocker, 'utf8')).toBe('not a directory');
    expect(fs.readdirSync(tmp).sort()).toEqual(before);

    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      const locked = path.join(tmp, 'locked');
      fs.mkdirSync(locked, { mode: 0o555 });
      await expect(model.save(`file://${locked}/m`)).rejects.toThrow(/Cannot save model to .*locked[/\\]m: .*(EACCES|EPERM)/);
      expect(fs.readdirSync(locked)).toEqual([]);
      fs.chmodSync(locked, 0o755);
    }
    model.dispose();
  });

  test('a save failing at the final rename cleans up (new dir) or keeps the old model (existing dir)', async () => {
    const model = makeModel();
    const expected = predict(model);
    const renameFails = () => jest.spyOn(fs.promises, 'rename').mockRejectedValueOnce(new Error('EIO: simulated rename failure'));

    const fresh = path.join(tmp, 'newparent', 'inner', 'm');
    const before = fs.readdirSync(tmp).sort();
    renameFails();
    await expect(model.save(`file://${fresh}`)).rejects.toThrow(/Cannot save model to .*m: EIO: simulated rename failure/);
    expect(fs.readdirSync(tmp).sort()).toEqual(before); // created parents and temp dir removed

    const existing = path.join(tmp, 'existing');
    await model.save(`file://${existing}`);
    const oldJson = fs.readFileSync(path.join(existing, 'model.json'), 'utf8');
    renameFails();
    await expect(model.save(fileSystem(existing, { shardSizeBytes: 64 }))).rejects.toThrow(/simulated rename failure/);
    expect(fs.readdirSync(existing).sort()).toEqual(['model.json', 'weights.bin']);
    expect(fs.readFileSync(path.join(existing, 'model.json'), 'utf8')).toBe(oldJson);
    const loaded = await tf.loadLayersModel(`file://${existing}`);
    expect(Array.from(predict(loaded))).toEqual(Array.from(expected));
    loaded.dispose();
    jest.restoreAllMocks();
    model.dispose();
  });

  test('loading reports missing paths, missing model.json, bad JSON, missing shards and size mismatches', async () => {
    await expect(tf.loadLayersModel(`file://${tmp}/does-not-exist/model.json`)).rejects.toThrow(/Cannot load model: .*does-not-exist[/\\]model.json does not exist/);
    await expect(fileSystem(path.join(tmp, 'missing-dir')).load!()).rejects.toThrow(/missing-dir does not exist/);

    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await expect(fileSystem(empty).load!()).rejects.toThrow(/directory .*empty has no model.json/);

    const badJson = path.join(tmp, 'bad');
    fs.mkdirSync(badJson);
    fs.writeFileSync(path.join(badJson, 'model.json'), '{"modelTopology": ');
    await expect(fileSystem(badJson).load!()).rejects.toThrow(/bad[/\\]model.json: expected a tfjs model.json \(JSON\), got a parse error/);
    fs.writeFileSync(path.join(badJson, 'model.json'), '{"hello": 1}');
    await expect(fileSystem(badJson).load!()).rejects.toThrow(/is not a tfjs model.json/);

    const model = makeModel();
    const dir = path.join(tmp, 'broken');
    await model.save(fileSystem(dir, { shardSizeBytes: 100 }));
    model.dispose();
    fs.truncateSync(path.join(dir, 'group1-shard2of3.bin'), 50);
    await expect(fileSystem(dir).load!()).rejects.toThrow(/weight group 0 files \[group1-shard1of3.bin, .*\] hold 218 bytes, but its 4 weight specs need 268 bytes/);
    fs.rmSync(path.join(dir, 'group1-shard3of3.bin'));
    await expect(fileSystem(dir).load!()).rejects.toThrow(/weight file .*group1-shard3of3.bin \(listed in .*model.json\) does not exist/);
  });

  test('weights over 2 GiB are refused with a pointer to the streaming loader', async () => {
    const dir = path.join(tmp, 'huge');
    fs.mkdirSync(dir);
    const n = 600 * 1024 * 1024; // 2.34 GiB of float32
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      modelTopology: {},
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [n], dtype: 'float32' }] }],
    }));
    fs.writeFileSync(path.join(dir, 'weights.bin'), '');
    fs.truncateSync(path.join(dir, 'weights.bin'), 4 * n); // sparse: costs no disk
    await expect(fileSystem(dir).load!()).rejects.toThrow(/weights total 2516582400 bytes \(2.34 GiB\).*streaming safetensors loader/);
    fs.rmSync(dir, { recursive: true });
  });
});
