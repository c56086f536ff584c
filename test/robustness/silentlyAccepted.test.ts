/**
 * Inputs that used to be silently accepted (issue #12, item 11): integer weights used as floats, greedy decoding
 * over NaN logits (it emitted EOS and exited 0), NaN logits when sampling (said as "a largest logit of -Infinity").
 * (A negative step in train-state.json and a 'string' weight dtype: test/robustness/trainKill.test.ts and
 * test/io/hostileModelDir.test.ts.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { createMambaLM } from '../../src/layers/factories';
import { generate } from '../../src/generation/generate';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { fixtureDir } from '../helpers/fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('a checkpoint storing a weight as integers is refused, naming the key and dtype', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'int-weights-'));
  const src = fixtureDir('tiny-hf');
  fs.copyFileSync(path.join(src, 'config.json'), path.join(tmp, 'config.json'));
  const bytes = fs.readFileSync(path.join(src, 'model.safetensors'));
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, 8 + headerLen).toString('utf8');
  const key = 'backbone.layers.0.mixer.D';
  const at = header.indexOf(`"${key}"`);
  expect(at).toBeGreaterThan(0);
  const dtypeAt = header.indexOf('"F32"', at);
  // I32 has F32's size, so only the dtype check can catch it.
  const patched = header.slice(0, dtypeAt) + '"I32"' + header.slice(dtypeAt + 5);
  bytes.write(patched, 8, 'utf8');
  fs.writeFileSync(path.join(tmp, 'model.safetensors'), bytes);
  const pattern = new RegExp(`"${key.replace(/\./g, '\\.')}" in .*model\\.safetensors is stored as I32; expected a float weight \\(F32, F16, BF16 or F64\\)`);
  await expect(loadCheckpoint(tmp)).rejects.toThrow(pattern);
  await expect(convertCheckpoint(tmp, path.join(tmp, 'out'))).rejects.toThrow(pattern);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('NaN weights: greedy decoding and sampling both fail with one clear line', async () => {
  const model = createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, seed: 1 });
  const norm = model.weights.find((w) => w.originalName.endsWith('norm_f.weight'))!;
  norm.write(tf.fill(norm.shape as number[], NaN));
  for (const temperature of [0, 1] as const) {
    await expect(generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature, eosTokenId: 0 } as never))
      .rejects.toThrow(/decoding: expected finite logits, got NaN at token id 0 \(the model's weights or inputs hold NaN or infinite values\)/);
  }
  model.dispose();
});
