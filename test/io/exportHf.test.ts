/**
 * `mamba-tfjs export-hf`: a tfjs model directory → config.json + model.safetensors in the HuggingFace -hf
 * layout. Checked against the fixture checkpoints (keys, torch shapes, config fields, values) and by
 * round trips: model.save → export-hf → convert → identical weights, bit for bit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { registerExportHfCommand } from '../../src/cli/exportHfCommand';
import { registerConvertCommand } from '../../src/cli/convertCommand';
import { createMambaLM, findMambaLM } from '../../src/layers/factories';
import { SafetensorsFile } from '../../src/io/safetensors';
import { openCheckpointTensors } from '../../src/io/hf/source';
import { ourName } from '../../src/io/hf/layout';
import { FIXTURE_NAMES, fixtureDir } from '../helpers/fixtures';
import { runCommand } from '../helpers/cliRun';

let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-exporthf-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const exportHf = (...argv: string[]) => runCommand(registerExportHfCommand, ['export-hf', ...argv, '--quiet']);
const convert = (...argv: string[]) => runCommand(registerConvertCommand, ['convert', ...argv, '--quiet']);

let counter = 0;
const fresh = (label: string) => path.join(tmp, `${label}-${++counter}`);

/** Every weight of a tfjs model directory, by name, as raw float32 bytes (loaded with plain tfjs). */
async function weightBytes(dir: string): Promise<Map<string, { shape: number[]; bytes: Buffer }>> {
  const model = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
  try {
    return new Map(findMambaLM(model).weights.map((w) => {
      const data = w.read().dataSync() as Float32Array;
      return [w.originalName, { shape: w.shape as number[], bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength) }];
    }));
  } finally {
    model.dispose();
  }
}

describe.each(FIXTURE_NAMES)('%s: convert → export-hf', (fixture) => {
  test('config.json, keys, torch shapes and values match the checkpoint', async () => {
    const converted = fresh('tfjs');
    const hf = fresh('hf');
    await convert(fixtureDir(fixture), converted);
    const logged = await exportHf(converted, hf);
    expect(logged.join('\n')).toMatch(/exported .* config.json \+ model.safetensors/);
    expect(fs.readdirSync(hf).sort()).toEqual(['config.json', 'model.safetensors']);

    // The safetensors passes our reader's checks; HF key names, torch shapes, F32, "pt" metadata.
    const file = await SafetensorsFile.open(path.join(hf, 'model.safetensors'));
    const source = await openCheckpointTensors(fixtureDir(fixture));
    try {
      expect(file.metadata).toEqual({ format: 'pt' });
      const expected = source.keys().filter((k) => ourName(k) !== null);
      expect(file.keys().sort()).toEqual(expected.map((k) => ourName(k)).sort());
      for (const k of expected) {
        const e = file.entry(ourName(k) as string);
        expect(e.dtype).toBe('F32');
        expect(e.shape).toEqual(source.shape(k));
        // Exact: F32 sources are copied bit for bit; BF16 widens exactly to F32.
        expect(Buffer.from((await file.readFloat32(e.name)).buffer)).toEqual(Buffer.from((await source.readFloat32(k)).buffer));
      }
    } finally {
      await file.close();
      await source.close();
    }

    const configText = fs.readFileSync(path.join(hf, 'config.json'), 'utf8');
    // transformers 5 rejects a JSON integer in a float field: `"time_step_scale": 1` must be written `1.0`.
    expect(configText).toMatch(/"time_step_scale": 1\.0,/);
    for (const k of ['layer_norm_epsilon', 'initializer_range', 'time_step_scale', 'time_step_min', 'time_step_max', 'time_step_floor']) {
      expect([k, new RegExp(`"${k}": -?\\d+,?$`, 'm').test(configText)]).toEqual([k, false]);
    }
    const config = JSON.parse(configText);
    expect(config).toMatchObject({ architectures: ['MambaForCausalLM'], model_type: 'mamba', tie_word_embeddings: true });
    if (fixture !== 'tiny-orig') {
      const ref = JSON.parse(fs.readFileSync(path.join(fixtureDir(fixture), 'config.json'), 'utf8'));
      for (const k of ['hidden_size', 'num_hidden_layers', 'state_size', 'expand', 'conv_kernel', 'time_step_rank', 'use_bias',
        'use_conv_bias', 'layer_norm_epsilon', 'vocab_size', 'intermediate_size', 'tie_word_embeddings', 'model_type', 'architectures',
        'time_step_init_scheme', 'time_step_scale', 'time_step_min', 'time_step_max', 'time_step_floor', 'hidden_act']) {
        expect([k, config[k]]).toEqual([k, ref[k]]);
      }
    } else {
      expect(config).toMatchObject({ hidden_size: 48, num_hidden_layers: 3, vocab_size: 504, intermediate_size: 96, time_step_rank: 3 });
    }

    // And back: convert the export; the weights are identical to the first conversion, bit for bit.
    const again = fresh('tfjs');
    await convert(hf, again);
    const a = await weightBytes(converted);
    const b = await weightBytes(again);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, w] of a) {
      expect(b.get(name)!.shape).toEqual(w.shape);
      expect(b.get(name)!.bytes.equals(w.bytes)).toBe(true);
    }
  });
});

test('model.save → export-hf → convert round-trips every weight bit for bit (biases, odd sizes)', async () => {
  const args = { vocabSize: 37, dModel: 12, nLayers: 2, dState: 5, dtRank: 3, dConv: 3, bias: true, convBias: true, seed: 11 };
  const model = createMambaLM(args);
  const saved = fresh('saved');
  await model.save(`file://${saved}`);
  const hf = fresh('hf');
  await exportHf(saved, hf);
  const again = fresh('tfjs');
  await convert(hf, again);
  const back = await weightBytes(again);
  for (const w of findMambaLM(model).weights) {
    const data = w.read().dataSync() as Float32Array;
    expect(back.get(w.originalName)!.shape).toEqual(w.shape);
    expect(back.get(w.originalName)!.bytes.equals(Buffer.from(data.buffer, data.byteOffset, data.byteLength))).toBe(true);
  }
  // The same logits as the original model.
  const loaded = await tf.loadLayersModel(`file://${again}/model.json`);
  const ids = tf.tensor2d([[1, 5, 36, 0, 2]], [1, 5], 'int32');
  const x = model.predict(ids) as tf.Tensor;
  const y = loaded.predict(ids) as tf.Tensor;
  expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
  tf.dispose([ids, x, y]);
  model.dispose();
  loaded.dispose();
  const config = JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8'));
  expect(config).toMatchObject({ vocab_size: 40, use_bias: true, state_size: 5, time_step_rank: 3, conv_kernel: 3 });
});

test('a float16 model exports its float16 values exactly (as F32), and tokenizer files travel along', async () => {
  const converted = fresh('tfjs16');
  await convert(fixtureDir('tiny-hf'), converted, '--dtype', 'float16');
  fs.writeFileSync(path.join(converted, 'tokenizer.json'), '{"model": {}}');
  const hf = fresh('hf');
  await exportHf(converted, hf);
  expect(fs.readFileSync(path.join(hf, 'tokenizer.json'), 'utf8')).toBe('{"model": {}}');
  const again = fresh('tfjs');
  await convert(hf, again);
  const a = await weightBytes(converted);
  const b = await weightBytes(again);
  for (const [name, w] of a) expect(b.get(name)!.bytes.equals(w.bytes)).toBe(true);
});

describe('bad input fails cleanly', () => {
  test('a directory without model.json', async () => {
    const out = fresh('out');
    await expect(exportHf(fixtureDir('tiny-hf'), out)).rejects.toThrow(/tiny-hf\/model.json: expected a tfjs model.json/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a model without a MambaLM layer', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const saved = fresh('dense');
    await model.save(`file://${saved}`);
    model.dispose();
    const out = fresh('out');
    await expect(exportHf(saved, out)).rejects.toThrow(/model.json: expected exactly one MambaLM layer in modelTopology, found 0/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a truncated weight shard', async () => {
    const converted = fresh('tfjs');
    await convert(fixtureDir('tiny-hf-bf16'), converted);
    fs.truncateSync(path.join(converted, 'group1-shard1of1.bin'), 1000);
    const out = fresh('out');
    await expect(exportHf(converted, out)).rejects.toThrow(/weight group 0 files \[group1-shard1of1.bin\] hold 1000 bytes, but its \d+ weight specs need \d+/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('an output directory whose parent is a regular file', async () => {
    const converted = fresh('tfjs');
    await convert(fixtureDir('tiny-hf-bf16'), converted);
    const parent = fresh('file');
    fs.writeFileSync(parent, 'x');
    await expect(exportHf(converted, path.join(parent, 'out'))).rejects.toThrow(/cannot write output directory .*\/out/);
    expect(fs.readFileSync(parent, 'utf8')).toBe('x');
  });

  test('a weight missing from the manifest', async () => {
    const converted = fresh('tfjs');
    await convert(fixtureDir('tiny-hf-bf16'), converted, '--shard-size', '0.001');
    const jsonPath = path.join(converted, 'model.json');
    const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    const group = json.weightsManifest[0];
    // backbone.norm_f.weight comes last, alone in the last shard
    expect(group.weights[group.weights.length - 1].name).toBe('backbone.norm_f.weight');
    fs.rmSync(path.join(converted, group.paths.pop()));
    group.weights.pop();
    fs.writeFileSync(jsonPath, JSON.stringify(json));
    const out = fresh('out');
    await expect(exportHf(converted, out)).rejects.toThrow(/missing key in checkpoint: backbone.norm_f.weight/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
