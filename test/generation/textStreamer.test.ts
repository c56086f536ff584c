/**
 * TextStreamer: pieces printed one token at a time add up to the whole decoded text, and never show half a
 * character (multi-byte UTF-8 split across byte-level BPE tokens).
 */
import { loadTokenizer, MambaTokenizer } from '../../src/io/tokenizer';
import { TextStreamer } from '../../src/generation/textStreamer';
import { TOKENIZER_JSON } from '../helpers/fixtures';

const TOKENIZER = TOKENIZER_JSON;
let tokenizer: MambaTokenizer;

beforeAll(async () => {
  tokenizer = await loadTokenizer(TOKENIZER);
});

test('token by token, the pieces are the decoded text, without partial characters', () => {
  const prompt = tokenizer.encode('Say:');
  const ids = tokenizer.encode(' 😀 héllo 日本語, wörld!');
  // The emoji and 語 are split across tokens that decode to U+FFFD on their own.
  expect(ids.some((id) => tokenizer.decode([id]).includes('\uFFFD'))).toBe(true);
  const s = new TextStreamer(tokenizer, prompt);
  const pieces = ids.map((id) => s.push(id));
  pieces.push(s.flush());
  expect(pieces.join('')).toBe(' 😀 héllo 日本語, wörld!');
  for (const p of pieces) expect(p).not.toContain('\uFFFD');
  expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0); // held back while a character was incomplete
});

test('an incomplete character at the very end comes out on flush as U+FFFD', () => {
  const ids = tokenizer.encode('😀');
  const s = new TextStreamer(tokenizer);
  expect(s.push(...ids.slice(0, -1))).toBe('');
  expect(s.flush()).toContain('\uFFFD');
  expect(s.flush()).toBe('');
});

test('context-dependent decoding: the prompt is decoded with the sequence', () => {
  // A decoder that drops a leading space at the start of the text (as SentencePiece's does).
  const vocab = ['▁a', '▁b', 'c'];
  const fake = { decode: (ids: number[]) => ids.map((i) => vocab[i]).join('').replace(/▁/g, ' ').replace(/^ /, '') };
  const s = new TextStreamer(fake, [0]);
  expect(s.push(1)).toBe(' b');
  expect(s.push(2)).toBe('c');
  expect(s.text).toBe(' bc');
});
