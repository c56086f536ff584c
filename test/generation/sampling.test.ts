/**
 * The token sampler on known logits: frequencies follow softmax(logits / T); top-k and top-p cut as specified;
 * ids at or above the limit are never drawn.
 */
import { argmax, sampleToken } from '../../src/generation/sampling';
import { Rng } from '../../src/tasks/rng';

/** softmax(logits / t). */
function softmax(logits: number[], t: number): number[] {
  const m = Math.max(...logits.map((x) => x / t));
  const e = logits.map((x) => Math.exp(x / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Frequencies of n draws. */
function frequencies(logits: number[], n: number, o: Parameters<typeof sampleToken>[1], seed = 1): number[] {
  const rng = new Rng(seed);
  const counts = logits.map(() => 0);
  const data = Float32Array.from(logits);
  for (let i = 0; i < n; i++) counts[sampleToken(data, o, rng)]++;
  return counts.map((c) => c / n);
}

const logits = [1, 2, 0.5, -1, 1.5];
const N = 40000;
// Binomial standard error is ≤ 0.0025 at N = 40000; 0.012 is ~5 of them.
const TOL = 0.012;

test.each([1, 0.5, 2])('frequencies at temperature %f match softmax(logits / T)', (t) => {
  const f = frequencies(logits, N, { temperature: t, limit: 5 });
  softmax(logits, t).forEach((p, i) => expect(Math.abs(f[i] - p)).toBeLessThan(TOL));
});

test('temperature changes the distribution: lower is sharper', () => {
  const cold = frequencies(logits, N, { temperature: 0.5, limit: 5 });
  const hot = frequencies(logits, N, { temperature: 2, limit: 5 });
  expect(cold[1]).toBeGreaterThan(0.5);
  expect(hot[1]).toBeLessThan(0.4);
  expect(hot[3]).toBeGreaterThan(cold[3] + 0.03);
});

test('topK keeps the k most likely, renormalized', () => {
  const f = frequencies(logits, N, { temperature: 1, topK: 2, limit: 5 });
  const p = softmax([2, 1.5], 1);
  expect(f[0] + f[2] + f[3]).toBe(0);
  expect(Math.abs(f[1] - p[0])).toBeLessThan(TOL);
  expect(Math.abs(f[4] - p[1])).toBeLessThan(TOL);
});

test('topP keeps the smallest set reaching p', () => {
  const p = softmax(logits, 1); // sorted: id1 0.35.., id4 0.21.., id0 0.13.., id2 0.08.., id3 0.02..
  // p just above p1 + p4 keeps ids 1, 4, 0; just below keeps ids 1, 4.
  const three = frequencies(logits, N, { temperature: 1, topP: p[1] + p[4] + 0.01, limit: 5 });
  expect(three[2] + three[3]).toBe(0);
  const kept3 = p[1] + p[4] + p[0];
  expect(Math.abs(three[0] - p[0] / kept3)).toBeLessThan(TOL);
  const two = frequencies(logits, N, { temperature: 1, topP: p[1] + p[4] - 0.01, limit: 5 });
  expect(two[0] + two[2] + two[3]).toBe(0);
});

test('ids at or above the limit are never sampled; argmax looks at all', () => {
  const padded = Float32Array.from([0, 1, 9, 9]);
  const rng = new Rng(5);
  for (let i = 0; i < 2000; i++) expect(sampleToken(padded, { temperature: 1, limit: 2 }, rng)).toBeLessThan(2);
  expect(argmax(padded)).toBe(2);
  expect(argmax(padded, 0, 2)).toBe(1);
  expect(argmax(Float32Array.from([5, 1, 3, 5, 7, 7]), 1, 3)).toBe(2); // offset row [1, 3, 5]
});
