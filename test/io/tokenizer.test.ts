/**
 * Tests of the tokenizer wrapper with the GPT-NeoX-20B tokenizer used by `state-spaces/mamba-*`.
 * Expected ids are looked up in tokenizer.json's own vocabulary, independently of the library.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTokenizer, MambaTokenizer } from '../../src/io/tokenizer/tokenizer';
import { TOKENIZER_JSON } from '../helpers/fixtures';

const TOKENIZER = TOKENIZER_JSON;

const json = JSON.parse(fs.readFileSync(TOKENIZER, 'utf8')) as {
  model: { vocab: Record<string, number> };
  added_tokens: { id: number; content: string }[];
};
const vocab = json.model.vocab;

let tok: MambaTokenizer;
let tmpDir: string;

beforeAll(async () => {
  tok = await loadTokenizer(TOKENIZER);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenizer-test-'));
});

afterAll(() => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

describe('loadTokenizer (GPT-NeoX-20B)', () => {
  test('the asserted ids are the ones in tokenizer.json', () => {
    expect(vocab['Hello']).toBe(12092);
    expect(vocab['Ġworld']).toBe(1533);
    expect(vocab['Ġthe']).toBe(253);
    expect(vocab['Ċ']).toBe(187); // "\n" in byte-level BPE
    expect(json.added_tokens.find((t) => t.content === '<|endoftext|>')?.id).toBe(0);
  });

  test('encodes to GPT-NeoX ids', () => {
    expect(tok.encode('Hello world')).toEqual([vocab['Hello'], vocab['Ġworld']]);
    expect(tok.encode('Hello world')).toEqual([12092, 1533]);
    expect(tok.encode(' the')).toEqual([vocab['Ġthe']]);
    expect(tok.encode('Hello\nworld')).toEqual([vocab['Hello'], vocab['Ċ'], vocab['world']]);
    expect(tok.encode('')).toEqual([]);
  });

  test('vocabSize and eosTokenId', () => {
    const maxId = Math.max(...Object.values(vocab), ...json.added_tokens.map((t) => t.id));
    expect(tok.vocabSize).toBe(maxId + 1);
    expect(tok.vocabSize).toBe(50277);
    expect(tok.eosTokenId).toBe(0);
  });

  test('decode(encode(s)) === s, including unicode, whitespace runs and newlines', () => {
    const samples = [
      'Hello world',
      ' the',
      'Mamba is a selective state-space model.\nIt scales linearly.',
      'héllo wörld — 世界 🤖 naïve café',
      'tabs\tand  double  spaces,   triple\n\n\nblank lines',
      'x .y , z ! ?',
      'def f(x):\n    return x ** 2  # comment\n',
    ];
    for (const s of samples) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  test('decode keeps special tokens unless asked, and skips padded-vocabulary ids', () => {
    const ids = [...tok.encode('Hi'), 0];
    expect(tok.decode(ids)).toBe('Hi<|endoftext|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('Hi');
    expect(tok.decode([...tok.encode('Hi'), 50277, 50279])).toBe('Hi');
    expect(tok.decode([])).toBe('');
  });

  test('decode rejects ids that are not non-negative integers', () => {
    expect(() => tok.decode([1.5])).toThrow(/expected non-negative integer ids, got 1\.5/);
    expect(() => tok.decode([-1])).toThrow(/got -1/);
  });

  test('accepts the folder containing tokenizer.json', async () => {
    const fromDir = await loadTokenizer(path.dirname(TOKENIZER));
    expect(fromDir.encode('Hello world')).toEqual([12092, 1533]);
  });

  test('a missing file is a clear error', async () => {
    const missing = path.join(tmpDir, 'nope.json');
    await expect(loadTokenizer(missing)).rejects.toThrow(/expected a tokenizer\.json file, found no file at .*nope\.json/);
  });

  test('a non-JSON file is a clear error', async () => {
    const file = path.join(tmpDir, 'garbage.json');
    fs.writeFileSync(file, 'not json at all');
    await expect(loadTokenizer(file)).rejects.toThrow(/garbage\.json"\): expected JSON, got a parse error/);
  });

  test('JSON that is not a tokenizer is a clear error', async () => {
    const file = path.join(tmpDir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ d_model: 48 }));
    await expect(loadTokenizer(file)).rejects.toThrow(/expected a tokenizer\.json object with "model" and "added_tokens", got keys d_model/);
  });
});
