/**
 * The token sampler on known logits, with fixed seeds: the counts of 100,000 draws fit softmax(logits / T) after
 * top-k and top-p (a reference written from the definitions) by a chi-square test and per-id binomial bounds, rare
 * ids (p ~ 6e-4) included; ids at or above the limit are never drawn.
 */
import { argmax, sampleToken } from '../../src/generation/sampling';
import { Rng } from '../../src/tasks/rng';

/** Counts of each id in n draws with a fixed seed. */
function counts(logits: number[], n: number, o: Parameters<typeof sampleToken>[1], seed = 1): number[] {
  const rng = new Rng(seed);
  const c = logits.map(() => 0);
  const data = Float32Array.from(logits);
  for (let i = 0; i < n; i++) c[sampleToken(data, o, rng)]++;
  return c;
}

/**
 * The distribution sampleToken should draw from, written from the definition by ranks (the sampler uses value
 * thresholds): softmax of logits[0 .. limit) / T, keep the k most likely, renormalize, keep the shortest
 * most-likely-first prefix whose mass reaches topP, renormalize. Distinct logits only (no ties).
 */
function expected(logits: number[], o: { temperature: number; topK?: number; topP?: number; limit: number }): number[] {
  const scaled = logits.slice(0, o.limit).map((x) => x / o.temperature);
  const m = Math.max(...scaled);
  const order = scaled.map((_, i) => i).sort((a, b) => scaled[b] - scaled[a]); // most likely first
  let kept = order.slice(0, o.topK ?? order.length);
  const mass = (ids: number[]) => ids.reduce((s, i) => s + Math.exp(scaled[i] - m), 0);
  if (o.topP != null) {
    const total = mass(kept);
    let end = 1;
    while (mass(kept.slice(0, end)) < o.topP * total) end++;
    kept = kept.slice(0, end);
  }
  const z = mass(kept);
  return logits.map((_, i) => (kept.includes(i) ? Math.exp(scaled[i] - m) / z : 0));
}

/** A topP that keeps exactly the `keep` most likely ids: midway between the masses of keep − 1 and keep of them. */
function topPKeeping(logits: number[], temperature: number, keep: number): number {
  const p = expected(logits, { temperature, limit: logits.length }).sort((a, b) => b - a);
  const cum = (k: number) => p.slice(0, k).reduce((s, q) => s + q, 0);
  return (cum(keep - 1) + cum(keep)) / 2;
}

/** chi-square(df) quantile at 0.999 (Wilson–Hilferty; 18.7 for df 4 against the exact 18.47). */
function chiSquare999(df: number): number {
  const z = 3.0902; // standard normal 0.999 quantile
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/**
 * Counts c of n draws against probabilities p: ids with p = 0 never drawn; Pearson's chi-square over the
 * others below its 0.999 quantile; and every id within 5 binomial standard deviations of n·p, so that a rare
 * id that is never (or twice as often) drawn fails on its own. Every kept id is expected ≥ 20 times, so the
 * chi-square approximation holds.
 */
function expectFits(c: number[], p: number[], what: string): void {
  const n = c.reduce((s, x) => s + x, 0);
  let chi2 = 0;
  let df = -1;
  c.forEach((ci, i) => {
    const e = n * p[i];
    if (p[i] === 0) {
      expect({ what, id: i, count: ci }).toEqual({ what, id: i, count: 0 });
      return;
    }
    if (e < 20) throw new Error(`${what}: id ${i} is expected only ${e} times: draw more`);
    chi2 += (ci - e) ** 2 / e;
    df++;
    const bound = 5 * Math.sqrt(e * (1 - p[i]));
    if (!(Math.abs(ci - e) <= bound)) throw new Error(`${what}: id ${i} drawn ${ci} times, expected ${e.toFixed(1)} ± ${bound.toFixed(1)}`);
  });
  if (!(chi2 < chiSquare999(df))) throw new Error(`${what}: chi-square ${chi2.toFixed(1)} over ${df} degrees of freedom exceeds ${chiSquare999(df).toFixed(1)}`);
}

// Ids 3 and 5 are rare: at T 0.5 their probabilities are 1.6e-3 and 5.9e-4 (160 and 59 of N draws).
const logits = [1, 2, 0.5, -1, 1.5, -1.5];
const N = 100_000;

test.each([1, 0.5, 2])('frequencies at temperature %f follow softmax(logits / T), rare ids included', (t) => {
  const o = { temperature: t, limit: 6 };
  const p = expected(logits, o);
  if (t === 0.5) expect(Math.min(...p)).toBeLessThan(1e-3);
  expectFits(counts(logits, N, o), p, `T ${t}`);
});

test('the fit check fails a sampler that never draws the rarest id, or drops the 5th of 6', () => {
  const p = expected(logits, { temperature: 0.5, limit: 6 });
  const c = counts(logits, N, { temperature: 0.5, limit: 6 });
  const moved = c.map((x, i) => (i === 5 ? 0 : i === 1 ? x + c[5] : x)); // id 5's draws go to the most likely id
  expect(() => expectFits(moved, p, 'never id 5')).toThrow(/id 5 drawn 0 times/);
  const p5 = expected(logits, { temperature: 1, limit: 6 });
  const c5 = counts(logits, N, { temperature: 1, limit: 5 }); // id 5 excluded: the rest renormalized
  expect(() => expectFits(c5, p5, 'limit 5 for 6')).toThrow(/drawn \d+ times, expected|chi-square/);
});

test.each([2, 3, 4])('topK %i keeps the k most likely, renormalized', (k) => {
  const o = { temperature: 1, topK: k, limit: 6 };
  const p = expected(logits, o);
  expect(p.filter((q) => q > 0)).toHaveLength(k);
  expectFits(counts(logits, N, o), p, `topK ${k}`);
});

test.each([2, 3, 4, 5])('topP keeping the %i most likely ids: the smallest set reaching p, renormalized', (keep) => {
  const o = { temperature: 1, topP: topPKeeping(logits, 1, keep), limit: 6 };
  const p = expected(logits, o);
  expect(p.filter((q) => q > 0)).toHaveLength(keep);
  expectFits(counts(logits, N, o, keep), p, `topP keeping ${keep}`);
});

test('temperature, then topK, then topP over the renormalized top k; limit masks the padded ids', () => {
  // T 2 flattens the distribution; topK 5 drops id 5; topP keeps 4 of those 5 (a mass taken after top-k).
  const t = 2;
  const within5 = expected(logits, { temperature: t, topK: 5, limit: 6 }).filter((q) => q > 0).sort((a, b) => b - a);
  const topP = (within5.slice(0, 3).reduce((s, q) => s + q, 0) + within5.slice(0, 4).reduce((s, q) => s + q, 0)) / 2;
  const o = { temperature: t, topK: 5, topP, limit: 6 };
  const p = expected(logits, o);
  expect(p.filter((q) => q > 0)).toHaveLength(4);
  expectFits(counts(logits, N, o, 7), p, 'T 2, topK 5, topP');
  const padded = { temperature: 1, limit: 4 };
  expectFits(counts(logits, N, padded, 8), expected(logits, padded), 'limit 4');
});

test('temperature changes the distribution: lower is sharper', () => {
  const cold = expected(logits, { temperature: 0.5, limit: 6 });
  const hot = expected(logits, { temperature: 2, limit: 6 });
  expect(cold[1]).toBeGreaterThan(0.5);
  expect(hot[1]).toBeLessThan(0.4);
  expect(hot[3]).toBeGreaterThan(cold[3] + 0.03);
});

test('ids at or above the limit are never sampled; argmax looks at all', () => {
  const padded = Float32Array.from([0, 1, 9, 9]);
  const rng = new Rng(5);
  for (let i = 0; i < 2000; i++) expect(sampleToken(padded, { temperature: 1, limit: 2 }, rng)).toBeLessThan(2);
  expect(argmax(padded)).toBe(2);
  expect(argmax(padded, 0, 2)).toBe(1);
  expect(argmax(Float32Array.from([5, 1, 3, 5, 7, 7]), 1, 3)).toBe(2); // offset row [1, 3, 5]
});
