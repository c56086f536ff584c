import * as tf from '@tensorflow/tfjs';
import '../src/index';
import { defaultBackend, selectBackend } from '../src/backend';
import { loadCheckpoint } from '../src/io/hf/loadCheckpoint';
import { expectAllClose } from './helpers/close';
import { fixtureDir, openReference } from './helpers/fixtures';
import { setEnvFlag } from './helpers/flags';

afterAll(async () => {
  await tf.setBackend('cpu');
});

test('unknown or missing backends give a clear error', async () => {
  await expect(selectBackend('metal')).rejects.toThrow(/unknown backend 'metal': expected one of cpu, wasm, webgl, webgpu, tensorflow/);
  await expect(selectBackend('tensorflow')).rejects.toThrow(/needs @tensorflow\/tfjs-node or @tensorflow\/tfjs-node-gpu installed/);
});

test('MAMBA_TFJS_BACKEND picks the backend when no name is given; else wasm, the faster one, when installed', async () => {
  setEnvFlag('MAMBA_TFJS_BACKEND', 'cpu');
  expect(await selectBackend()).toBe('cpu');
  setEnvFlag('MAMBA_TFJS_BACKEND', undefined);
  expect(defaultBackend()).toBe('wasm');
  expect(await selectBackend()).toBe('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

describe('the wasm backend runs the forward pass', () => {
  test.each(['fused', 'pscan'] as const)('%s: tiny-hf logits equal the reference', async (scanMode) => {
    expect(await selectBackend('wasm')).toBe('wasm');
    const ref = await openReference('tiny-hf');
    const model = await loadCheckpoint(fixtureDir('tiny-hf'), { scanMode });
    const ids = await ref.int('input_ids');
    const x = tf.tensor2d(ids.data, ids.shape as [number, number], 'int32');
    const before = tf.memory().numTensors;
    const logits = model.predict(x) as tf.Tensor;
    expectAllClose(await logits.data(), (await ref.float('logits')).data, 1e-4, `wasm ${scanMode} logits`);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
    await ref.file.close();
  });
});
