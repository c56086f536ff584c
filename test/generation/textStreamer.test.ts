/**
 * TextStreamer: pieces printed one token at a time add up to the whole decoded text, and never show half a
 * character (multi-byte UTF-8 split across byte-level BPE tokens).
 */
import { loadTokenizer, MambaTokenizer } from '../../src/io/tokenizer/tokenizer';
import { TextStreamer } from '../../src/generation/textStreamer';
import { ByteTokenizer } from '../../src/generation/byteTokenizer';
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

describe('incremental decoding (a window of recent tokens, not the whole sequence)', () => {
  /** Wraps a detokenizer, counting the ids it is asked to decode. */
  function counting(inner: { decode(ids: number[]): string }): { decode(ids: number[]): string; decoded: number } {
    const c = {
      decoded: 0,
      decode(ids: number[]): string {
        c.decoded += ids.length;
        return inner.decode(ids);
      },
    };
    return c;
  }

  /** Streams `ids` after `prompt` one token at a time; returns the pieces joined and the ids decoded in all. */
  function stream(t: { decode(ids: number[]): string; decoded: number }, prompt: number[], ids: number[]): { text: string; perToken: number } {
    const s = new TextStreamer(t, prompt);
    t.decoded = 0;
    let text = '';
    for (const id of ids) text += s.push(id);
    text += s.flush();
    expect(s.text).toBe(text);
    return { text, perToken: t.decoded / ids.length };
  }

  test('30 000 GPT-NeoX tokens: the same text as decoding all at once, with work linear in the length', () => {
    // Multi-byte text (emoji and CJK split across byte-level tokens) repeated to 30 000 tokens.
    const unit = tokenizer.encode(' Mamba 🐍 runs in 日本語 and Ünïcödé; the quick brown fox 😀 jumps.\n');
    const ids = Array.from({ length: 30_000 }, (_, i) => unit[i % unit.length]);
    const prompt = tokenizer.encode('Once upon a time');
    const t = counting(tokenizer);
    const started = performance.now();
    const { text, perToken } = stream(t, prompt, ids);
    const seconds = (performance.now() - started) / 1000;
    expect(text).toBe(tokenizer.decode([...prompt, ...ids]).slice(tokenizer.decode(prompt).length));
    // Re-decoding the sequence would decode ~15 000 ids per token; the window decodes a few dozen.
    expect(perToken).toBeLessThan(60);
    expect(seconds).toBeLessThan(20);
  });

  test('the work per token does not grow with the length (3 000 vs 30 000 tokens)', () => {
    const unit = tokenizer.encode(' héllo wörld 日本 😀');
    const make = (n: number): number[] => Array.from({ length: n }, (_, i) => unit[i % unit.length]);
    const short = stream(counting(tokenizer), [], make(3_000)).perToken;
    const long = stream(counting(tokenizer), [], make(30_000)).perToken;
    expect(long).toBeLessThan(short * 1.2);
  });

  test('random bytes (invalid UTF-8 everywhere) stream to exactly the all-at-once decoding, without holding back', () => {
    const bytes = new ByteTokenizer();
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // Mostly high bytes: lead bytes, continuation bytes and invalid ones, with some ASCII.
    const ids = Array.from({ length: 20_000 }, () => (rand() < 0.3 ? 32 + Math.floor(rand() * 90) : 128 + Math.floor(rand() * 128)));
    const t = counting(bytes);
    const s = new TextStreamer(t);
    let text = '';
    let maxHeld = 0;
    for (let i = 0; i < ids.length; i++) {
      text += s.push(ids[i]);
      maxHeld = Math.max(maxHeld, s.text.length - text.length); // characters decoded but not printed yet
    }
    text += s.flush();
    expect(text).toBe(new TextDecoder().decode(Uint8Array.from(ids)));
    expect(text).toContain('\uFFFD');
    expect(maxHeld).toBeLessThanOrEqual(3); // invalid bytes are printed, only an incomplete character waits
    expect(t.decoded / ids.length).toBeLessThan(120); // push and the text getter each decode the window
  });

  test('a SentencePiece-like decoder (leading space dropped at the start) over a long stream', () => {
    const vocab = ['▁a', '▁b', 'c', '▁dd', 'e'];
    const fake = { decode: (ids: number[]) => ids.map((i) => vocab[i]).join('').replace(/▁/g, ' ').replace(/^ /, '') };
    const ids = Array.from({ length: 5_000 }, (_, i) => (i * 7 + (i >> 3)) % vocab.length);
    const t = counting(fake);
    const { text, perToken } = stream(t, [0], ids);
    expect(text).toBe(fake.decode([0, ...ids]).slice(fake.decode([0]).length));
    expect(perToken).toBeLessThan(80);
  });
});
