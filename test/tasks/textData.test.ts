import { Rng } from '../../src/tasks/rng';
import { TextDataTask } from '../../src/tasks/textData';
import type { TokenBatch } from '../../src/tasks/types';

describe('TextDataTask', () => {
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  // A corpus that never repeats a window: seeded random bytes, so every window of 8+ bytes occurs once and its
  // offset (found by search) tells which split it came from. (The sentence above repeats: any window is in both.)
  const rng = new Rng(17);
  const random = Uint8Array.from({ length: 4000 }, () => rng.int(256));

  /** The unique offset of `window` in the random corpus (-1 if absent; throws if it occurs twice). */
  function offsetOf(window: Uint8Array): number {
    const at = Buffer.from(random).indexOf(Buffer.from(window));
    if (at >= 0 && Buffer.from(random).lastIndexOf(Buffer.from(window)) !== at) throw new Error(`window at ${at} occurs twice`);
    return at;
  }

  /** Offsets of the B windows x[b] + y[b][T−1] (T + 1 bytes each) of a batch. */
  function windowOffsets(b: TokenBatch, B: number, T: number): number[] {
    return Array.from({ length: B }, (_, s) => {
      const w = Uint8Array.from({ length: T + 1 }, (_, t) => (t < T ? b.x[s * T + t] : b.y[s * T + T - 1]));
      for (let t = 0; t + 1 < T; t++) expect(b.y[s * T + t]).toBe(b.x[s * T + t + 1]); // y is x moved by one
      return offsetOf(w);
    });
  }

  it('makes next-byte windows from the train split, all positions scored', () => {
    const task = new TextDataTask(random, { seqLen: 16 });
    expect(task.vocabSize).toBe(256);
    const { train, val } = task.sizes;
    expect([train, val]).toEqual([3600, 400]);
    const b = task.sample(new Rng(1), 64);
    const offsets = windowOffsets(b, 64, 16);
    // Every window lies wholly inside [0, train): start ≥ 0 and start + T + 1 ≤ train.
    for (const o of offsets) expect({ o, inTrain: o >= 0 && o + 17 <= train }).toEqual({ o, inTrain: true });
    expect(Math.max(...offsets)).toBeGreaterThan(train / 2); // spread over the split, not stuck at its start
    expect(Array.from(b.mask).every((m) => m === 1)).toBe(true);
  });

  it('draws validation windows from the held-out tail, and only from it', () => {
    const task = new TextDataTask(random, { seqLen: 8, valFraction: 0.25 });
    const { train, val } = task.sizes;
    expect([train, val]).toEqual([3000, 1000]);
    const b = task.sample(new Rng(2), 64, { split: 'val' });
    const offsets = windowOffsets(b, 64, 8);
    for (const o of offsets) expect({ o, inVal: o >= train && o + 9 <= train + val }).toEqual({ o, inVal: true });
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(val / 2); // spread over the tail
  });

  it('is deterministic given the seed (the CLI reads --data into these bytes)', () => {
    const task = new TextDataTask(bytes, { seqLen: 10 });
    expect(Array.from(task.sample(new Rng(3), 4).x)).toEqual(Array.from(task.sample(new Rng(3), 4).x));
  });

  it('refuses a corpus too small for the window', () => {
    expect(() => new TextDataTask(bytes.subarray(0, 50), { seqLen: 16 })).toThrow(/expected at least 17 bytes in the validation split/);
  });
});
