/**
 * `mamba-tfjs generate` on a tiny model: a tfjs model directory made with model.save and the GPT-NeoX
 * tokenizer beside it (copied into a temporary directory, never into the project), and a HuggingFace
 * checkpoint directory with --tokenizer. Greedy runs continue the fixture's own prompt (reference.safetensors
 * `generate.prompt` row 0, as text that the tokenizer encodes back to the same ids) and must print the tokens HF
 * transformers chose (`generate.sequences`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import '../../src/node';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { loadTokenizer } from '../../src/io/tokenizer/tokenizer';
import { registerGenerateCommand, runGenerateCommand } from '../../src/cli/generateCommand';
import { TOKENIZER_JSON, fixtureDir, openReference } from '../helpers/fixtures';

const TOKENIZER = TOKENIZER_JSON;
const PROMPT = 'The man and the'; // ids 510, 637, 285, 253: all inside tiny-hf's vocabulary of 1000
const STATS = /^(\d+) tokens in \d+\.\d\d s: \d+\.\d\d tokens\/s \(prompt: (\d+) tokens in \d+ ms\)$/;
let dir: string;
/** The fixture's prompt as text, and the 16 tokens (and their text) that HF's greedy decoding added to it. */
let refPrompt: string;
let refTokens: number[];
let refText: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-generate-'));
  const model = await loadCheckpoint(fixtureDir('tiny-hf'));
  await model.save(`file://${dir}`);
  fs.copyFileSync(TOKENIZER, path.join(dir, 'tokenizer.json'));
  model.dispose();
  // The reference continuation: HF transformers' greedy decoding of the fixture's prompt (row 0). It repeats the
  // prompt's last token (398) 16 times: the model's numbers are checked by test/io/checkpoint.test.ts; here the
  // CLI's path (tokenizer, prompt, greedy loop, stop tokens, streaming) must reproduce it token for token.
  const ref = await openReference('tiny-hf');
  const prompt = await ref.int('generate.prompt'); // (2, 5)
  const seqs = await ref.int('generate.sequences'); // (2, 21)
  await ref.file.close();
  const tokenizer = await loadTokenizer(TOKENIZER);
  const ids = Array.from(prompt.data.subarray(0, 5));
  refPrompt = tokenizer.decode(ids);
  expect(tokenizer.encode(refPrompt)).toEqual(ids); // the text stands for exactly the fixture's prompt ids
  expect(tokenizer.encode(PROMPT).every((id) => id < 1000)).toBe(true);
  refTokens = Array.from(seqs.data.subarray(5, 21));
  expect(Array.from(seqs.data.subarray(0, 5))).toEqual(ids);
  refText = tokenizer.decode(refTokens);
  expect(refText).not.toContain('\n');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('greedy on a tfjs model directory: the prompt, the reference continuation streamed, the speed line', async () => {
  const before = tf.memory().numTensors;
  const chunks: string[] = [];
  const result = await runGenerateCommand({ model: dir, prompt: refPrompt, maxTokens: 16, temperature: 0, backend: 'cpu' }, (t) => chunks.push(t));
  expect(result.tokens).toEqual(refTokens);
  const output = chunks.join('');
  const lines = output.split('\n');
  expect(lines[0]).toBe(refPrompt + refText);
  expect(lines[1]).toMatch(STATS);
  expect(lines[2]).toBe('');
  expect(STATS.exec(lines[1])?.slice(1, 3).map(Number)).toEqual([16, 5]);
  expect(result.text).toBe(refText);
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
  const result = await runGenerateCommand({ model: fixtureDir('tiny-hf'), tokenizer: TOKENIZER, prompt: refPrompt, maxTokens: 16, temperature: 0 }, (t) => chunks.push(t));
  expect(result.tokens).toEqual(refTokens);
  expect(chunks.join('').split('\n')[0]).toBe(refPrompt + refText);
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
