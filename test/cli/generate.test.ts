/**
 * `mamba-tfjs generate` on a tiny model: a tfjs model directory made with model.save and the GPT-NeoX
 * tokenizer beside it (copied into a temporary directory, never into the project), and a HuggingFace
 * checkpoint directory with --tokenizer.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import '../../src/index';
import { loadCheckpoint } from '../../src/io/checkpoint';
import { loadTokenizer } from '../../src/io/tokenizer';
import { generate } from '../../src/generation/generate';
import { registerGenerateCommand, runGenerateCommand } from '../../src/cli/generateCommand';
import { TOKENIZER_JSON, fixtureDir } from '../helpers/fixtures';

const TOKENIZER = TOKENIZER_JSON;
const PROMPT = 'The man and the'; // ids 510, 637, 285, 253: all inside tiny-hf's vocabulary of 1000
const STATS = /^(\d+) tokens in \d+\.\d\d s: \d+\.\d\d tokens\/s \(prompt: 4 tokens in \d+ ms\)$/;
let dir: string;
let expectedText: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-generate-'));
  const model = await loadCheckpoint(fixtureDir('tiny-hf'));
  await model.save(`file://${dir}`);
  fs.copyFileSync(TOKENIZER, path.join(dir, 'tokenizer.json'));
  // The expected greedy continuation, computed with the API.
  const tokenizer = await loadTokenizer(TOKENIZER);
  const ids = tokenizer.encode(PROMPT);
  expect(ids.every((id) => id < 1000)).toBe(true);
  const out = await generate(model, [ids], { maxNewTokens: 12, temperature: 0, stopTokens: [0] });
  expectedText = tokenizer.decode(out.sequences[0].slice(ids.length));
  model.dispose();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('greedy on a tfjs model directory: the prompt, the continuation streamed, the speed line', async () => {
  const before = tf.memory().numTensors;
  const chunks: string[] = [];
  const result = await runGenerateCommand({ model: dir, prompt: PROMPT, maxTokens: 12, temperature: 0, backend: 'cpu' }, (t) => chunks.push(t));
  const output = chunks.join('');
  const lines = output.split('\n');
  expect(lines[0]).toBe(PROMPT + expectedText);
  expect(lines[1]).toMatch(STATS);
  expect(lines[2]).toBe('');
  expect(Number(STATS.exec(lines[1])?.[1])).toBe(result.tokens.length);
  expect(result.text).toBe(expectedText);
  expect(result.tokensPerSecond).toBeGreaterThan(0);
  expect(chunks.length).toBeGreaterThan(3); // streamed, not printed at once
  expect(tf.memory().numTensors).toBe(before);
});

test('through commander: registerGenerateCommand on a fresh program, sampling with a seed is reproducible', async () => {
  const run = async (seed: string) => {
    const program = new Command().exitOverride();
    registerGenerateCommand(program);
    const chunks: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((t: string | Uint8Array) => {
      chunks.push(String(t));
      return true;
    });
    try {
      await program.parseAsync(['generate', '--model', dir, '--prompt', PROMPT, '--max-tokens', '8', '--temperature', '0.9',
        '--top-k', '40', '--top-p', '0.95', '--seed', seed, '--backend', 'cpu'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    return chunks.join('').split('\n');
  };
  const a = await run('5');
  const b = await run('5');
  expect(a[0]).toBe(b[0]);
  expect(a[0].startsWith(PROMPT)).toBe(true);
  expect(a[1]).toMatch(STATS);
});

test('a HuggingFace checkpoint directory with --tokenizer', async () => {
  const chunks: string[] = [];
  await runGenerateCommand({ model: fixtureDir('tiny-hf'), tokenizer: TOKENIZER, prompt: PROMPT, maxTokens: 12, temperature: 0 }, (t) => chunks.push(t));
  expect(chunks.join('').split('\n')[0]).toBe(PROMPT + expectedText);
});

test('errors name what is wrong: no tokenizer, a prompt outside the vocabulary, bad option values', async () => {
  await expect(runGenerateCommand({ model: fixtureDir('tiny-hf'), prompt: PROMPT }, () => undefined))
    .rejects.toThrow(/tokenizer\.json.*put tokenizer\.json beside the model or pass --tokenizer/);
  await expect(runGenerateCommand({ model: dir, prompt: 'Mamba', maxTokens: 2 }, () => undefined))
    .rejects.toThrow(/outside the model's vocabulary: expected ids < 1000/);
  await expect(runGenerateCommand({ model: path.join(dir, 'nope'), prompt: PROMPT }, () => undefined))
    .rejects.toThrow(/expected a model directory.*missing/);
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerGenerateCommand(program);
  await expect(program.parseAsync(['generate', '--model', dir, '--prompt', 'x', '--top-p', '0'], { from: 'user' }))
    .rejects.toThrow(/expected a number in \(0, 1\], got "0"/);
});
