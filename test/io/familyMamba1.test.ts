/**
 * The Mamba-1 family beyond tied Mamba (#15): an untied head with in/out_proj biases (tiny-hf-untied) and
 * FalconMamba (tiny-falcon-mamba-hf: weightless RMS norms on Δ, B, C). Each against its float64 reference:
 * logits, hidden states, loss and gradients in every scan mode; greedy decoding; export-hf → convert.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { loadCheckpoint, readCheckpointConfig } from '../../src/io/hf/loadCheckpoint';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { exportHf } from '../../src/io/hf/exportHf';
import { findMambaLM, createMambaLM } from '../../src/layers/factories';
import { generate } from '../../src/generation/generate';
import { mambaLMTopology } from '../../src/io/tfjs/topology';
import { mambaLMWeightShapes } from '../../src/io/hf/weightPlan';
import { mambaLMArgsFromTopology } from '../../src/io/tfjs/topologyArgs';
import { SafetensorsFile } from '../../src/io/safetensors';
import { openCheckpointTensors } from '../../src/io/hf/source';
import { fixtureDir, openReference } from '../helpers/fixtures';
import { checkAgainstReference, lmView } from '../helpers/parity';
import { useWasm } from '../helpers/backend';
import { expectScoresClose, rows } from '../helpers/generated';

const MAMBA1_FAMILY = ['tiny-hf-untied', 'tiny-falcon-mamba-hf'] as const;
let tmp: string;

beforeAll(async () => {
  await useWasm(); // whole-model chains of small ops: see test/helpers/backend.ts
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-family1-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every weight of a tfjs model directory, by name, as raw float32 bytes (loaded with plain tfjs). */
async function weightBytes(dir: string): Promise<Map<string, Buffer>> {
  const model = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
  try {
    return new Map(findMambaLM(model).weights.map((w) => {
      const data = w.read().dataSync() as Float32Array;
      return [w.originalName, Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
    }));
  } finally {
    model.dispose();
  }
}

describe.each(MAMBA1_FAMILY)('%s', (fixture) => {
  test('config: untied head; FalconMamba norms only for falcon_mamba', () => {
    const { args } = readCheckpointConfig(fixtureDir(fixture));
    expect(args.tieEmbeddings).toBe(false);
    if (fixture === 'tiny-falcon-mamba-hf') expect(args).toMatchObject({ bcdtNorm: true, bcdtNormEps: 1e-6, bias: false });
    else expect(args).toMatchObject({ bias: true });
    expect(args.bcdtNorm ?? false).toBe(fixture === 'tiny-falcon-mamba-hf');
  });

  test.each(['pscan', 'sequential', 'fused'] as const)('%s mode: logits, hidden states, loss, gradients', async (mode) => {
    const model = await loadCheckpoint(fixtureDir(fixture), { scanMode: mode });
    const lm = findMambaLM(model);
    expect(lm.lmHead).not.toBeNull();
    // 'fused' on cpu runs the whole residual block as one op (its hand-written backward covers the norms).
    expect(lm.backbone.blocks[0].usesFusedBlock()).toBe(mode === 'fused');
    await checkAgainstReference(fixture, model, lmView(lm));
  }, 600_000);

  test('greedy decoding equals generate.sequences; scores within 1e-4', async () => {
    const model = await loadCheckpoint(fixtureDir(fixture));
    const ref = await openReference(fixture);
    try {
      const p = await ref.int('generate.prompt');
      const s = await ref.int('generate.sequences');
      const scores = await ref.float('generate.scores');
      const prompt = rows(p.data, p.shape);
      const attentionMask = prompt.map((r) => r.map((id) => (id === 0 ? 0 : 1))); // HF masked pad (0) tokens
      const before = tf.memory().numTensors;
      const steps = scores.shape[1];
      const out = await generate(model, prompt, { maxNewTokens: steps, temperature: 0, returnScores: true, attentionMask });
      expect(out.sequences).toEqual(rows(s.data, s.shape));
      expectScoresClose(out.scores as Float32Array[], scores, 1e-4, fixture);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
      await ref.file.close();
    }
  });

  test('convert → export-hf → convert: config, keys, values unchanged', async () => {
    const converted = path.join(tmp, `${fixture}-tfjs`);
    const hf = path.join(tmp, `${fixture}-hf`);
    const again = path.join(tmp, `${fixture}-again`);
    await convertCheckpoint(fixtureDir(fixture), converted);
    await exportHf(converted, hf);
    const ref = JSON.parse(fs.readFileSync(path.join(fixtureDir(fixture), 'config.json'), 'utf8'));
    const config = JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8'));
    for (const k of ['model_type', 'architectures', 'tie_word_embeddings', 'use_bias', 'hidden_size', 'vocab_size', 'time_step_rank', 'layer_norm_epsilon']) {
      expect([k, config[k]]).toEqual([k, ref[k]]);
    }
    if (fixture === 'tiny-falcon-mamba-hf') {
      expect(config.mixer_rms_eps).toBe(ref.mixer_rms_eps);
      expect(fs.readFileSync(path.join(hf, 'config.json'), 'utf8')).toMatch(/"mixer_rms_eps": 1e-6,|"mixer_rms_eps": 0\.000001,/);
    }
    // Every checkpoint tensor (lm_head.weight included) comes back bit for bit.
    const file = await SafetensorsFile.open(path.join(hf, 'model.safetensors'));
    const source = await openCheckpointTensors(fixtureDir(fixture));
    try {
      expect(file.keys().sort()).toEqual(source.keys().sort());
      expect(file.keys()).toContain('lm_head.weight');
      for (const k of source.keys()) {
        expect(file.entry(k).shape).toEqual(source.shape(k));
        expect(Buffer.from((await file.readFloat32(k)).buffer).equals(Buffer.from((await source.readFloat32(k)).buffer))).toBe(true);
      }
    } finally {
      await file.close();
      await source.close();
    }
    await convertCheckpoint(hf, again);
    const a = await weightBytes(converted);
    const b = await weightBytes(again);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, bytes] of a) expect([name, b.get(name)!.equals(bytes)]).toEqual([name, true]);
  });

  test('topology and weight plan equal the built model; args read back', () => {
    const { args } = readCheckpointConfig(fixtureDir(fixture));
    const model = createMambaLM(args);
    try {
      expect(mambaLMTopology(args)).toStrictEqual(model.toJSON(null, false));
      expect(mambaLMWeightShapes(args)).toEqual(findMambaLM(model).weights.map((w) => ({ name: w.originalName, shape: w.shape })));
      const back = mambaLMArgsFromTopology(mambaLMTopology(args), 'model.json');
      expect([back.tieEmbeddings, back.bcdtNorm ?? false]).toEqual([false, args.bcdtNorm ?? false]);
      expect(mambaLMTopology(back)).toEqual(mambaLMTopology(args));
    } finally {
      model.dispose();
    }
  });
});

test('model.save → tf.loadLayersModel keeps the untied head and the FalconMamba norms', async () => {
  const args = { vocabSize: 20, dModel: 8, nLayers: 1, tieEmbeddings: false, bcdtNorm: true, bcdtNormEps: 1e-3, seed: 3 };
  const model = createMambaLM(args);
  const dir = path.join(tmp, 'saved');
  await model.save(`file://${dir}`);
  const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
  const lm = findMambaLM(loaded);
  expect(lm.lmHead?.shape).toEqual([24, 8]);
  expect(lm.backbone.config).toMatchObject({ bcdtNorm: true, bcdtNormEps: 1e-3 });
  const ids = tf.tensor2d([[1, 2, 3, 19]], [1, 4], 'int32');
  const x = model.predict(ids) as tf.Tensor;
  const y = loaded.predict(ids) as tf.Tensor;
  expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
  tf.dispose([ids, x, y]);
  model.dispose();
  loaded.dispose();
});
