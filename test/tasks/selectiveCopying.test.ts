import { Rng } from '../../src/tasks/rng';
import { SC_DATA0, SC_MARKER, SC_NOISE, SelectiveCopyingTask } from '../../src/tasks/selectiveCopying';

describe('SelectiveCopyingTask', () => {
  const cfg = { seqLen: 32, nData: 5, nDataVocab: 6 };
  const task = new SelectiveCopyingTask(cfg);

  it('has the documented vocabulary and length', () => {
    expect(task.vocabSize).toBe(SC_DATA0 + 6);
    expect(task.seqLen).toBe(37);
  });

  it('is deterministic given the seed', () => {
    const a = task.sample(new Rng(5), 4);
    const b = task.sample(new Rng(5), 4);
    const c = task.sample(new Rng(6), 4);
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.y)).toEqual(Array.from(b.y));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
  });

  it('places nData data tokens among noise and asks for them in order at the markers', () => {
    const B = 50;
    const batch = task.sample(new Rng(11), B);
    expect(batch.x).toHaveLength(B * 37);
    for (let b = 0; b < B; b++) {
      const row = Array.from(batch.x.subarray(b * 37, (b + 1) * 37));
      const ctx = row.slice(0, 32);
      const data = ctx.filter((t) => t !== SC_NOISE);
      expect(data).toHaveLength(5);
      for (const t of data) expect(t >= SC_DATA0 && t < SC_DATA0 + 6).toBe(true);
      expect(ctx.filter((t) => t === SC_MARKER)).toHaveLength(0);
      expect(row.slice(32)).toEqual(new Array(5).fill(SC_MARKER));
      const y = Array.from(batch.y.subarray(b * 37, (b + 1) * 37));
      const mask = Array.from(batch.mask.subarray(b * 37, (b + 1) * 37));
      expect(y.slice(32)).toEqual(data); // the data tokens, in the order they appeared
      expect(y.slice(0, 32)).toEqual(new Array(32).fill(-1));
      expect(mask).toEqual([...new Array(32).fill(0), ...new Array(5).fill(1)]);
    }
  });

  it('spreads data over all context positions', () => {
    const batch = task.sample(new Rng(2), 400);
    const hit = new Array(32).fill(0);
    for (let b = 0; b < 400; b++) for (let t = 0; t < 32; t++) if (batch.x[b * 37 + t] !== SC_NOISE) hit[t]++;
    expect(Math.min(...hit)).toBeGreaterThan(0);
  });

  it('rejects bad configs and lengths', () => {
    expect(() => new SelectiveCopyingTask({ seqLen: 4, nData: 5, nDataVocab: 2 })).toThrow(/nData <= seqLen, got nData=5, seqLen=4/);
    expect(() => new SelectiveCopyingTask({ seqLen: 4, nData: 0, nDataVocab: 2 })).toThrow(/nData: expected a positive integer, got 0/);
    expect(() => task.sample(new Rng(0), 2, { length: 40 })).toThrow(/expected 37 .* got 40/);
  });
});
