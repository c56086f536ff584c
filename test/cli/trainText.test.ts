/**
 * `mamba-tfjs train --task text` then `mamba-tfjs generate` on its checkpoint: the byte-level tokenizer is saved
 * with the model (model.json's userDefinedMetadata), so generate prints text; --ids takes raw token ids; training
 * validates (with a text sample) during the run, and says nothing of "sequences fully right".
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { cli } from '../helpers/cliRun';
import { runGenerateCommand, tokenIds } from '../../src/cli/generateCommand';
import { ByteTokenizer } from '../../src/generation/byteTokenizer';
import { generate } from '../../src/generation/generate';
import { createMambaLM } from '../../src/layers/factories';
import { resolveOptions, textEvalEvery } from '../../src/cli/trainOptions';
import { alignedPrompt } from '../../src/cli/textSample';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'train-text-'));
const data = path.join(root, 'corpus.txt');
const out = path.join(root, 'text');
const trainLines: string[] = [];

beforeAll(async () => {
  const text = 'The cat sat on the mat. Die Katze saß auf der Matte. 猫がマットに座った。\n';
  fs.writeFileSync(data, text.repeat(60));
  const printed = await cli(['train', '--task', 'text', '--data', data, '--d-model', '16', '--n-layers', '1', '--d-state', '4',
    '--seq-len', '32', '--batch', '4', '--steps', '6', '--eval-size', '4', '--backend', 'cpu', '--out', out]);
  trainLines.push(...printed.split('\n'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('train --task text validates during training with a text sample, and never reports sequences fully right', () => {
  const validations = trainLines.filter((l) => /^step \d+: validation loss \d+\.\d{4}, accuracy \d/.test(l));
  const samples = trainLines.filter((l) => /^step \d+: sample: ".*" → ".*"$/.test(l));
  // 6 steps without --eval-every: every step (a tenth of the run, at least 1) but the last, then the final one.
  expect(validations.map((l) => Number(/^step (\d+)/.exec(l)?.[1]))).toEqual([1, 2, 3, 4, 5]);
  expect(samples).toHaveLength(5);
  expect(trainLines.join('\n')).not.toMatch(/sequences fully right|\(sequences/);
  expect(samples[0]).toMatch(/^step 1: sample: "[^\uFFFD]+" → /); // the prompt: whole characters from the held-out text
  expect(trainLines.some((l) => /^final accuracy: .* of next bytes on 4 held-out sequences; loss /.test(l))).toBe(true);
  const saved = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')) as { userDefinedMetadata?: unknown };
  expect(saved.userDefinedMetadata).toEqual({ tokenizer: { kind: 'bytes', vocabSize: 256 } });
});

test('a sample prompt starts after a space and ends on a character boundary', () => {
  const window = Array.from(Buffer.from('ab cdé日本 xyz'));
  const prompt = alignedPrompt(window, 6);
  expect(Buffer.from(prompt).toString('utf8')).toBe('cdé'); // 'cdé' + the first byte of 日 would split it: cut before
  expect(alignedPrompt(Array.from(Buffer.from('abcdef')), 4)).toEqual(Array.from(Buffer.from('abcd')));
  const tail = Array.from(Buffer.from('日本語')).slice(1, 8); // starts and ends inside a character
  expect(Buffer.from(alignedPrompt(tail, 7)).toString('utf8')).toBe('本');
});

test('the text task validates ~10 times by default, at most every 200 steps, and keeps an explicit --eval-every', () => {
  expect(textEvalEvery(6, 200)).toBe(1);
  expect(textEvalEvery(500, 200)).toBe(50);
  expect(textEvalEvery(5000, 200)).toBe(200);
  expect(resolveOptions({ task: 'text', data, steps: 300 }).evalEvery).toBe(30);
  expect(resolveOptions({ task: 'text', data, steps: 300, evalEvery: 0 }).evalEvery).toBe(0);
  expect(resolveOptions({ task: 'induction-heads', steps: 300 }).evalEvery).toBe(100);
});

test('generate --model <train output> --prompt prints text: the greedy continuation, as bytes decoded', async () => {
  const printed = await cli(['generate', '--model', out, '--prompt', 'The cat', '--max-tokens', '24', '--temperature', '0', '--backend', 'cpu']);
  const stats = printed.trimEnd().split('\n').pop() as string;
  // The same continuation through the API, decoded independently with TextDecoder.
  const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
  const prompt = Array.from(Buffer.from('The cat'));
  const ref = await generate(model, [prompt], { maxNewTokens: 24, temperature: 0 });
  model.dispose();
  const expected = 'The cat' + new TextDecoder().decode(Uint8Array.from(ref.sequences[0].slice(prompt.length).filter((id) => id < 256)));
  expect(printed).toBe(`${expected}\n${stats}\n`);
  expect(expected.length).toBeGreaterThan('The cat'.length);
  expect(stats).toMatch(/^24 tokens in \d+\.\d\d s: \d+\.\d\d tokens\/s \(prompt: 7 tokens in \d+ ms\)$/);
});

test('--ids gives the prompt as raw ids: the same output as the equal text prompt', async () => {
  const ids = Array.from(Buffer.from('The cat'));
  const byIds = await runGenerateCommand({ model: out, ids, maxTokens: 10, temperature: 0, backend: 'cpu' }, () => undefined);
  const byText = await runGenerateCommand({ model: out, prompt: 'The cat', maxTokens: 10, temperature: 0, backend: 'cpu' }, () => undefined);
  expect(byIds.tokens).toEqual(byText.tokens);
  expect(byIds.text).toBe(new ByteTokenizer().decode(byIds.tokens));
  expect(tokenIds('84, 104,101')).toEqual([84, 104, 101]);
  expect(() => tokenIds('1,x')).toThrow(/expected comma-separated non-negative integer token ids such as 1,2,3, got "1,x"/);
  expect(() => tokenIds('1,,2')).toThrow(/got "1,,2"/);
  await expect(runGenerateCommand({ model: out, prompt: 'a', ids: [1], backend: 'cpu' }, () => undefined))
    .rejects.toThrow(/expected exactly one of --prompt and --ids, got both/);
  await expect(runGenerateCommand({ model: out, backend: 'cpu' }, () => undefined))
    .rejects.toThrow(/expected exactly one of --prompt and --ids, got neither/);
});

test('a model without any tokenizer: --ids prints ids comma-separated; --prompt names the missing tokenizer.json', async () => {
  const dir = path.join(root, 'plain');
  const model = createMambaLM({ vocabSize: 20, dModel: 8, nLayers: 1, dState: 4, seed: 1 });
  await model.save(`file://${dir}`);
  const ref = await generate(model, [[3, 4, 5]], { maxNewTokens: 5, temperature: 0 });
  model.dispose();
  const chunks: string[] = [];
  const r = await runGenerateCommand({ model: dir, ids: [3, 4, 5], maxTokens: 5, temperature: 0, backend: 'cpu' }, (t) => chunks.push(t));
  expect(chunks.join('').split('\n')[0]).toBe(ref.sequences[0].join(','));
  expect(r.text).toBe(ref.sequences[0].slice(3).join(','));
  await expect(runGenerateCommand({ model: dir, prompt: 'hi', backend: 'cpu' }, () => undefined))
    .rejects.toThrow(/tokenizer\.json.*put tokenizer\.json beside the model or pass --tokenizer; --ids takes raw token ids/);
});
