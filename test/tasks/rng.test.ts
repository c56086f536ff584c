import { Rng, toSeed } from '../../src/tasks/rng';

describe('Rng', () => {
  it('gives equal streams for equal seeds and different ones otherwise', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    const sb = Array.from({ length: 20 }, () => b.nextUint32());
    const sc = Array.from({ length: 20 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('continues the same stream from a saved state', () => {
    const a = new Rng(7);
    for (let i = 0; i < 5; i++) a.next();
    const b = Rng.fromState(a.state);
    expect(Array.from({ length: 10 }, () => b.int(1000))).toEqual(Array.from({ length: 10 }, () => a.int(1000)));
  });

  it('keeps int() in range and roughly uniform', () => {
    const r = new Rng(1);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 5000; i++) counts[r.int(5)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    for (let i = 0; i < 100; i++) {
      const v = r.range(3, 6);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(6);
    }
  });

  it('samples distinct sorted indices, sparse and dense', () => {
    const r = new Rng(3);
    for (const [n, k] of [[100, 5], [10, 10], [10, 7], [1, 0]]) {
      const s = r.sampleSorted(n, k);
      expect(s).toHaveLength(k);
      for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThan(s[i - 1]);
      for (const v of s) expect(v >= 0 && v < n).toBe(true);
    }
  });

  it('rejects bad arguments with the expected and actual values', () => {
    expect(() => new Rng(0).int(0)).toThrow(/expected a positive integer bound, got 0/);
    expect(() => new Rng(0).sampleSorted(3, 4)).toThrow(/k=4, n=3/);
    expect(() => Rng.fromState(-1)).toThrow(/expected a uint32, got -1/);
    expect(() => toSeed(NaN)).toThrow(/finite/);
  });
});
