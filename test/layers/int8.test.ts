/**
 * int8 models: quantize(model) on the fixtures against the float32 model — logits within 2 % of the float32
 * logits' range, greedy tokens equal for the first 16 new tokens on at least 3 of the 4 fixtures — on cpu (JS
 * loops) and wasm (SIMD); and the save / load round trip (tf.loadLayersModel and the streaming loadModel) keeping
 * the weights int8 (int32 words, 1 byte per parameter on disk and in memory).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { loadModel } from '../../src/io/loadModel';
import { findMambaLM } from '../../src/layers/factories';
import { quantize } from '../../src/layers/quantize';
import { generate } from '../../src/generation/generate';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { createMambaLM } from '../../src/layers/factories';
import { mambaLMWeightShapes } from '../../src/io/hf/weightPlan';
import { onBackend } from '../helpers/backends';
import { FIXTURE_NAMES, FixtureName, fixtureDir, openReference } from '../helpers/fixtures';

const FIXTURES: FixtureName[] = [...FIXTURE_NAMES, 'tiny-hf-untied', 'tiny-falcon-mamba-hf'];
const NEW_TOKENS = 16;

interface Row { fixture: string; backend: string; relErr: number; sameTokens: number }
const rows: Row[] = [];

/** Logits of `model` on ids, and its greedy continuation of `prompt`. */
async function run(model: tf.LayersModel, ids: tf.Tensor, prompt: number[][]): Promise<{ logits: Float32Array; tokens: number[][] }> {
  const logits = tf.tidy(() => model.predict(ids) as tf.Tensor);
  const data = logits.dataSync() as Float32Array;
  logits.dispose();
  const out = await generate(model, prompt, { maxNewTokens: NEW_TOKENS, temperature: 0 });
  return { logits: data, tokens: out.sequences.map((s) => s.slice(prompt[0].length)) };
}

describe.each(['cpu', 'wasm'])('int8 quality on %s', (backend) => {
  test.each(FIXTURES)('%s: logits within 2 % of the float32 range; greedy tokens', async (fixture) => {
    await onBackend(backend, async () => {
      const ref = await openReference(fixture);
      const { data, shape } = await ref.int('input_ids');
      const p = await ref.int('generate.prompt');
      await ref.file.close();
      const prompt = [Array.from(p.data.subarray(0, p.shape[1]))];
      const float = await loadCheckpoint(fixtureDir(fixture));
      const q = quantize(float);
      expect(findMambaLM(q).int8Scales).not.toBeNull();
      const before = tf.memory().numTensors;
      const ids = tf.tensor2d(data, shape as [number, number], 'int32');
      const f = await run(float, ids, prompt);
      const g = await run(q, ids, prompt);
      ids.dispose();
      expect(tf.memory().numTensors).toBe(before);
      let lo = Infinity;
      let hi = -Infinity;
      let err = 0;
      f.logits.forEach((v, i) => {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        err = Math.max(err, Math.abs(v - g.logits[i]));
      });
      const relErr = err / (hi - lo);
      let same = 0;
      while (same < NEW_TOKENS && f.tokens[0][same] === g.tokens[0][same]) same++;
      rows.push({ fixture, backend, relErr, sameTokens: same });
      expect(relErr).toBeGreaterThan(0); // the int8 path really ran
      expect(relErr).toBeLessThan(0.02);
      float.dispose();
      q.dispose();
    });
  });

  test('greedy tokens equal float32 for 16 new tokens on at least 3 of the 4 fixtures', () => {
    const mine = rows.filter((r) => r.backend === backend && (FIXTURE_NAMES as readonly string[]).includes(r.fixture));
    expect(mine).toHaveLength(4);
    expect(mine.filter((r) => r.sameTokens === NEW_TOKENS).length).toBeGreaterThanOrEqual(3);
  });
});

afterAll(() => {
  // The README's error table comes from these lines.
  for (const r of rows) console.log(`int8 ${r.backend} ${r.fixture}: max |Δlogit| / range ${(100 * r.relErr).toFixed(3)} %, greedy tokens equal ${r.sameTokens}/${NEW_TOKENS}`);
});

test('the int8 weight plan (mambaLMWeightShapes) lists the int8 model\'s weights, shapes and dtypes', () => {
  for (const extra of [{}, { tieEmbeddings: false, bias: true, dtRank: 3 }]) {
    const args = { vocabSize: 50, dModel: 16, nLayers: 2, weightDtype: 'int8' as const, weightInit: 'zeros' as const, ...extra };
    const model = createMambaLM(args);
    const plan = mambaLMWeightShapes(args).map((w) => [w.name, w.shape, w.dtype ?? 'float32']);
    // By name: tfjs lists trainable weights first, and the int8 ones are not trainable; loaders match names.
    const byName = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(model.weights.map((w) => [w.originalName, w.shape, w.dtype]).sort(byName)).toEqual([...plan].sort(byName));
    expect(plan).toContainEqual(['backbone.layers.1.mixer.dt_proj.weight', [32, 1], 'int32']); // R = 3 inputs → one word per row
    model.dispose();
  }
});

describe('int8 save and load', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-int8-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('model.save → tf.loadLayersModel and loadModel: int32 words on disk and in memory, same logits', async () => {
    await onBackend('cpu', async () => {
      const float = await loadCheckpoint(fixtureDir('tiny-hf'));
      const q = quantize(float);
      float.dispose();
      const dir = path.join(tmp, 'tiny-int8');
      await q.save(`file://${dir}`);
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const specs = json.weightsManifest[0].weights as { name: string; dtype: string; shape: number[] }[];
      const inProj = specs.find((s) => s.name === 'backbone.layers.0.mixer.in_proj.weight')!;
      expect(inProj).toMatchObject({ dtype: 'int32', shape: [256, 16] }); // (2·ED, D/4): 64 int8 per row
      expect(specs.find((s) => s.name === 'backbone.embeddings.weight')).toMatchObject({ dtype: 'int32', shape: [1000, 16] });
      const bytes = fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
      const floatBytes = 4 * float.countParams();
      expect(bytes).toBeLessThan(0.35 * floatBytes); // the tiny model has many small float32 weights (A_log, conv, norms)
      const ids = tf.tensor2d([[1, 5, 9, 200, 999, 3]], [1, 6], 'int32');
      const want = tf.tidy(() => (q.predict(ids) as tf.Tensor).dataSync());
      const viaTf = await tf.loadLayersModel(`file://${dir}/model.json`);
      const { model: streamed } = await loadModel(dir);
      for (const m of [viaTf, streamed]) {
        const lm = findMambaLM(m);
        expect(lm.embedding.dtype).toBe('int32');
        expect(lm.backbone.blocks[1].mixer.w.outProj.dtype).toBe('int32');
        const got = tf.tidy(() => (m.predict(ids) as tf.Tensor).dataSync());
        expect(Array.from(got)).toEqual(Array.from(want));
        m.dispose();
      }
      ids.dispose();
      q.dispose();
    });
  });

  test('convert --dtype int8 streams a checkpoint into the same int8 model as quantize()', async () => {
    await onBackend('cpu', async () => {
      const out = path.join(tmp, 'converted');
      const r = await convertCheckpoint(fixtureDir('tiny-hf'), out, { dtype: 'int8' });
      expect(r.dtype).toBe('int8');
      const float = await loadCheckpoint(fixtureDir('tiny-hf'));
      const q = quantize(float);
      float.dispose();
      const ids = tf.tensor2d([[7, 1, 998, 42]], [1, 4], 'int32');
      const want = tf.tidy(() => (q.predict(ids) as tf.Tensor).dataSync());
      const viaTf = await tf.loadLayersModel(`file://${out}/model.json`);
      const { model: streamed } = await loadModel(out);
      for (const m of [viaTf, streamed]) {
        expect(findMambaLM(m).backbone.blocks[0].mixer.w.xProj.dtype).toBe('int32');
        expect(Array.from(tf.tidy(() => (m.predict(ids) as tf.Tensor).dataSync()))).toEqual(Array.from(want));
        m.dispose();
      }
      ids.dispose();
      q.dispose();
      await expect(convertCheckpoint(fixtureDir('tiny-mamba2-hf'), path.join(tmp, 'm2'), { dtype: 'int8' })).rejects.toThrow(/Mamba-2 checkpoint; --dtype int8 covers Mamba-1/);
    });
  });
});
