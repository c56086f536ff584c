import { IH_TRIGGER, InductionHeadsTask } from '../../src/tasks/inductionHeads';
import { Rng } from '../../src/tasks/rng';

describe('InductionHeadsTask', () => {
  const task = new InductionHeadsTask({ seqLen: 24, nSymbols: 10 });

  it('has the documented vocabulary and length', () => {
    expect(task.vocabSize).toBe(11);
    expect(task.seqLen).toBe(24);
  });

  it('is deterministic given the seed', () => {
    expect(Array.from(task.sample(new Rng(9), 3).x)).toEqual(Array.from(task.sample(new Rng(9), 3).x));
    expect(Array.from(task.sample(new Rng(9), 3).x)).not.toEqual(Array.from(task.sample(new Rng(10), 3).x));
  });

  it.each([24, 48, 200])('ends with the trigger and asks for the token after its first occurrence (T=%i)', (T) => {
    const B = 40;
    const batch = task.sample(new Rng(T), B, { length: T });
    expect(batch.length).toBe(T);
    for (let b = 0; b < B; b++) {
      const row = Array.from(batch.x.subarray(b * T, (b + 1) * T));
      const triggers = row.map((t, i) => (t === IH_TRIGGER ? i : -1)).filter((i) => i >= 0);
      expect(triggers).toHaveLength(2);
      expect(triggers[1]).toBe(T - 1);
      expect(triggers[0]).toBeLessThanOrEqual(T - 3);
      const key = row[triggers[0] + 1];
      expect(key >= 1 && key <= 10).toBe(true);
      for (let t = 0; t < T; t++) {
        expect(batch.y[b * T + t]).toBe(t === T - 1 ? key : -1);
        expect(batch.mask[b * T + t]).toBe(t === T - 1 ? 1 : 0);
      }
    }
  });

  it('rejects lengths below 3', () => {
    expect(() => task.sample(new Rng(0), 1, { length: 2 })).toThrow(/expected an integer >= 3, got 2/);
    expect(() => new InductionHeadsTask({ seqLen: 8, nSymbols: 0 })).toThrow(/nSymbols: expected a positive integer, got 0/);
  });
});
