/**
 * Mamba-2 checkpoints (#15): tiny-mamba2-hf (HF Mamba2ForCausalLM, 8 heads × 16, 2 groups, chunk 16, so the
 * 37-token input crosses chunks) and tiny-mamba2-orig (state-spaces layout, pytorch_model.bin, padded vocab):
 * logits, hidden states, loss and every gradient against the float64 reference, in the fused, the chunked and the
 * sequential scan; greedy decoding through the recurrent step equals the reference's tokens.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { loadCheckpoint, readMamba2CheckpointConfig } from '../../src/io/hf/loadCheckpoint';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { exportHf } from '../../src/io/hf/exportHf';
import { mamba2LMTopology, mamba2LMWeightShapes } from '../../src/io/hf/mamba2Plan';
import { createMamba2LM, findMamba2LM } from '../../src/layers/mamba2/factories';
import { generate } from '../../src/generation/generate';
import { expectAllClose } from '../helpers/close';
import { fixtureDir, openReference } from '../helpers/fixtures';
import { checkAgainstReference } from '../helpers/parity';
import { useWasm } from '../helpers/backend';
import { expectScoresClose, rows } from '../helpers/generated';

const MAMBA2 = ['tiny-mamba2-hf', 'tiny-mamba2-orig'] as const;

beforeAll(async () => {
  await useWasm(); // whole-model chains of small ops: see test/helpers/backend.ts
});

describe.each(MAMBA2)('%s', (fixture) => {
  test('config', () => {
    const { args, layout } = readMamba2CheckpointConfig(fixtureDir(fixture));
    if (fixture === 'tiny-mamba2-hf') {
      expect(layout).toBe('hf');
      expect(args).toMatchObject({ dModel: 64, nLayers: 2, headDim: 16, nGroups: 2, dState: 16, chunkSize: 16, dtLimitMin: 0, dtLimitMax: Infinity, vocabSize: 1000 });
    } else {
      expect(layout).toBe('original');
      expect(args).toMatchObject({ dModel: 48, nLayers: 2, headDim: 16, nGroups: 1, chunkSize: 8, vocabSize: 500, padVocabSizeMultiple: 16, tieEmbeddings: true });
    }
  });

  test.each(['fused', 'chunked', 'sequential'] as const)('%s scan: logits, hidden states, loss, gradients', async (mode) => {
    const model = await loadCheckpoint(fixtureDir(fixture), { scanMode: mode });
    const lm = findMamba2LM(model);
    expect(lm.backbone.config.scanMode).toBe(mode);
    await checkAgainstReference(fixture, model, lm);
  }, 600_000);

  test('greedy decoding (prefill + recurrent step) equals generate.sequences; scores within 1e-4', async () => {
    const model = await loadCheckpoint(fixtureDir(fixture));
    const ref = await openReference(fixture);
    try {
      const p = await ref.int('generate.prompt');
      const s = await ref.int('generate.sequences');
      const scores = await ref.float('generate.scores');
      const before = tf.memory().numTensors;
      const steps = scores.shape[1];
      const out = await generate(model, rows(p.data, p.shape), { maxNewTokens: steps, temperature: 0, returnScores: true });
      expect(out.sequences).toEqual(rows(s.data, s.shape));
      expectScoresClose(out.scores as Float32Array[], scores, 1e-4, fixture);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
      await ref.file.close();
    }
  });
});

describe.each(MAMBA2)('%s: convert → export-hf → convert', (fixture) => {
  test('weight plan and topology equal the built model; the round trip keeps every weight bit for bit', async () => {
    const { args } = readMamba2CheckpointConfig(fixtureDir(fixture));
    const built = createMamba2LM({ ...args, weightInit: 'zeros' });
    expect(mamba2LMWeightShapes(args)).toEqual(findMamba2LM(built).weights.map((w) => ({ name: w.originalName, shape: w.shape })));
    expect(mamba2LMTopology({ ...args, weightInit: 'zeros' })).toStrictEqual(built.toJSON(null, false));
    built.dispose();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba2-rt-'));
    try {
      await convertCheckpoint(fixtureDir(fixture), `${tmp}/a`);
      await exportHf(`${tmp}/a`, `${tmp}/hf`);
      const config = JSON.parse(fs.readFileSync(`${tmp}/hf/config.json`, 'utf8'));
      expect(config).toMatchObject({ model_type: 'mamba2', architectures: ['Mamba2ForCausalLM'], head_dim: 16, tie_word_embeddings: true });
      await convertCheckpoint(`${tmp}/hf`, `${tmp}/b`);
      const weightsOf = async (d: string) => {
        const m = await tf.loadLayersModel(`file://${d}/model.json`);
        const out = new Map(findMamba2LM(m).weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
        m.dispose();
        return out;
      };
      const a = await weightsOf(`${tmp}/a`);
      const b = await weightsOf(`${tmp}/b`);
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [k, v] of a) expect([k, b.get(k)]).toEqual([k, v]);
      // The converted model equals the reference too.
      const ref = await openReference(fixture);
      const ids = await ref.int('input_ids');
      const m = await tf.loadLayersModel(`file://${tmp}/b/model.json`);
      const logits = m.predict(tf.tensor2d(ids.data, ids.shape as [number, number], 'int32')) as tf.Tensor;
      expectAllClose(logits.dataSync(), (await ref.float('logits')).data, 1e-4, `${fixture} logits after the round trip`);
      m.dispose();
      await ref.file.close();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 600_000);
});
