/**
 * `mamba-tfjs train --arch mamba2` and `mamba-tfjs generate` on Mamba-2 models (#15): a tiny selective-copying run
 * lowers the loss and saves a Mamba2LM that reloads with the same validation numbers; generate on it, on a
 * byte-level text run, and on both Mamba-2 checkpoint layouts prints the tokens that an independent decoder chooses:
 * greedy argmax of the full forward (model.predict over the whole sequence, no cache) for the trained models, HF's
 * greedy tokens (reference.safetensors) for the checkpoints.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { cli } from '../helpers/cliRun';
import { runTrain, validationRng, type TrainArgs } from '../../src/cli/train';
import { runGenerateCommand } from '../../src/cli/generateCommand';
import { evaluate } from '../../src/cli/evaluate';
import { buildTask } from '../../src/cli/trainTask';
import { resolveOptions } from '../../src/cli/trainOptions';
import { findMamba2LM } from '../../src/layers/mamba2/factories';
import { expectAllClose } from '../helpers/close';
import { fixtureDir, openReference } from '../helpers/fixtures';

const tiny: TrainArgs = {
  task: 'selective-copying', arch: 'mamba2', dModel: 16, nLayers: 1, dState: 4, headDim: 8, chunkSize: 4,
  seqLen: 8, nData: 2, vocab: 3, batch: 8, lr: 0.01, warmup: 0, minLrRatio: 1, evalEvery: 10, evalSize: 16, seed: 3, backend: 'cpu',
};
const io = { tty: false, handleSignals: false, log: (): void => undefined };
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'train-mamba2-'));

/** Greedy decoding without the cache: the full forward over the growing sequence, argmax at its last position. */
async function greedyByFullForward(model: tf.LayersModel, prompt: number[], n: number): Promise<number[]> {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const next = tf.tidy(() => {
      const logits = model.predict(tf.tensor2d([seq], [1, seq.length], 'int32')) as tf.Tensor; // (1, L, V)
      const [, l, v] = logits.shape;
      return tf.argMax(tf.reshape(tf.slice(logits, [0, l - 1, 0], [1, 1, v]), [v])).dataSync()[0];
    });
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('train --arch mamba2 lowers the loss and saves a Mamba2LM; generate on it = greedy by the full forward', async () => {
  const out = path.join(root, 'copy');
  const lines: string[] = [];
  const r = await runTrain({ ...tiny, steps: 30, evalEvery: 0, out }, { ...io, log: (l) => lines.push(l) });
  expect(r.step).toBe(30);
  const loss = r.history.train.loss;
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  expect(mean(loss.slice(-5))).toBeLessThan(mean(loss.slice(0, 5)) - 0.1);
  expect(lines.some((l) => l.startsWith('model: Mamba-2 (4 heads of 8, chunk 4), D=16'))).toBe(true);

  const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
  const lm = findMamba2LM(model);
  expect([lm.backbone.config.headDim, lm.backbone.config.chunkSize, lm.backbone.config.nHeads]).toEqual([8, 4, 4]);
  const again = await evaluate(model, buildTask(r.options), validationRng(r.options.seed), r.options.evalSize);
  expect(again.accuracy).toBe(r.final.accuracy);
  expectAllClose([again.loss], [r.final.loss], 1e-5, 'validation loss of the reloaded Mamba-2 model');
  const prompt = [1, 2, 0, 3, 1, 4, 2, 0, 1, 3]; // crosses two chunks of 4
  const expected = await greedyByFullForward(model, prompt, 6);
  model.dispose();

  const res = await runGenerateCommand({ model: out, ids: prompt, maxTokens: 6, temperature: 0, backend: 'cpu' }, () => undefined);
  expect(res.tokens).toEqual(expected);
}, 120_000);

test('train --task induction-heads --arch mamba2 through the command line', async () => {
  const out = path.join(root, 'induction');
  const printed = await cli(['train', '--task', 'induction-heads', '--arch', 'mamba2', '--d-model', '16', '--n-layers', '1', '--d-state', '4',
    '--head-dim', '8', '--chunk-size', '8', '--seq-len', '8', '--vocab', '4', '--batch', '4', '--steps', '3', '--eval-size', '4', '--backend', 'cpu', '--out', out]);
  expect(printed).toMatch(/model: Mamba-2 \(4 heads of 8, chunk 8\), D=16, 1 layers/);
  expect(printed).toMatch(/final accuracy: /);
  const topology = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')) as { modelTopology: unknown };
  expect(JSON.stringify(topology.modelTopology)).toContain('"class_name":"Mamba2LM"');
}, 120_000);

test('train --task text --arch mamba2, then generate --prompt prints the greedy bytes as text', async () => {
  const data = path.join(root, 'corpus.txt');
  const out = path.join(root, 'text');
  fs.writeFileSync(data, 'The cat sat on the mat. Die Katze saß auf der Matte.\n'.repeat(40));
  await runTrain({ task: 'text', data, arch: 'mamba2', dModel: 16, nLayers: 1, dState: 4, headDim: 8, chunkSize: 8, seqLen: 32,
    batch: 4, steps: 4, evalSize: 4, backend: 'cpu', out }, io);
  const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
  const prompt = Array.from(Buffer.from('The cat'));
  const ids = await greedyByFullForward(model, prompt, 12);
  model.dispose();
  const chunks: string[] = [];
  const res = await runGenerateCommand({ model: out, prompt: 'The cat', maxTokens: 12, temperature: 0, backend: 'cpu' }, (t) => chunks.push(t));
  expect(res.tokens).toEqual(ids);
  expect(res.text).toBe(new TextDecoder().decode(Uint8Array.from(ids.filter((id) => id < 256))));
  expect(chunks.join('').startsWith(`The cat${res.text}\n`)).toBe(true);
}, 120_000);

test.each(['tiny-mamba2-hf', 'tiny-mamba2-orig'] as const)('generate --model <%s checkpoint> --ids: HF greedy tokens', async (fixture) => {
  const ref = await openReference(fixture);
  const p = await ref.int('generate.prompt'); // (B, Lp)
  const s = await ref.int('generate.sequences'); // (B, Lp + n)
  await ref.file.close();
  const [lp, ls] = [p.shape[1], s.shape[1]];
  const res = await runGenerateCommand({ model: fixtureDir(fixture), ids: Array.from(p.data.subarray(0, lp)), maxTokens: ls - lp, temperature: 0, backend: 'cpu' }, () => undefined);
  expect(res.tokens).toEqual(Array.from(s.data.subarray(lp, ls)));
}, 120_000);

test('--arch checks: mamba2 scan modes, head dim dividing E·D, resumed runs keep the architecture', () => {
  expect(() => resolveOptions({ arch: 'mamba2', scanMode: 'pscan' })).toThrow(/--scan-mode: expected one of auto, chunked, sequential for --arch mamba2, got pscan/);
  expect(() => resolveOptions({ arch: 'mamba', scanMode: 'chunked' })).toThrow(/--scan-mode: expected one of auto, fused, pscan, sequential for --arch mamba, got chunked/);
  expect(() => resolveOptions({ arch: 'mamba2', dModel: 48, headDim: 20 })).toThrow(/--head-dim: expected a divisor of expand·d-model = 96, got 20/);
  const saved = resolveOptions({});
  const old = { ...saved } as Partial<typeof saved>;
  delete old.arch; // a run saved before --arch existed
  expect(resolveOptions({}, old as typeof saved).arch).toBe('mamba');
  expect(() => resolveOptions({ arch: 'mamba2' }, old as typeof saved)).toThrow(/--arch: the run being resumed was trained with mamba, got mamba2/);
});
