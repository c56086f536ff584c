/**
 * Choosing the next token from one row of logits: greedy (argmax) or sampling with temperature, top-k and
 * nucleus (top-p), driven by a seeded PRNG. Plain JavaScript over a Float32Array: the logits are read back
 * from the backend once per step anyway, and V is small enough (50,280) for a few linear passes.
 */
import { Rng } from '../tasks/rng';

/** How to sample one token. */
export interface SamplingOptions {
  /** Divides the logits (> 0). */
  temperature: number;
  /** Keep only the k most likely tokens (ties at the k-th value are kept too). */
  topK?: number;
  /** Keep the most likely tokens whose probabilities add up to at least p, 0 < p ≤ 1 (ties kept). */
  topP?: number;
  /** Sample only ids < limit: the model's unpadded vocabulary (the padding rows are never real tokens). */
  limit: number;
}

/**
 * Throws when logits[offset … offset+length) holds a NaN: no token can be chosen from it (greedy decoding would
 * silently pick id 0, often the end-of-sequence token, and stop as if the model had finished).
 */
export function checkNoNaN(logits: ArrayLike<number>, offset: number, length: number): void {
  for (let i = 0; i < length; i++) {
    if (Number.isNaN(logits[offset + i])) {
      throw new Error(`decoding: expected finite logits, got NaN at token id ${i} (the model's weights or inputs hold NaN or infinite values)`);
    }
  }
}

/**
 * Index of the largest of logits[offset … offset+length), the first one on ties (as torch.argmax).
 * Porting note: like HF transformers, greedy decoding looks at every logit, the padded vocabulary included.
 */
export function argmax(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): number {
  if (length < 1) throw new Error(`argmax: expected at least one logit, got ${length}`);
  checkNoNaN(logits, offset, length);
  let best = 0;
  let bestValue = logits[offset];
  for (let i = 1; i < length; i++) {
    const v = logits[offset + i];
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/** Throws unless the options are usable. */
export function checkSamplingOptions(o: SamplingOptions): void {
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) {
    throw new Error(`sampling: expected temperature > 0 (use 0 or 'greedy' for greedy decoding), got ${o.temperature}`);
  }
  if (o.topK != null && (!Number.isInteger(o.topK) || o.topK < 1)) {
    throw new Error(`sampling: expected topK to be a positive integer, got ${o.topK}`);
  }
  if (o.topP != null && !(o.topP > 0 && o.topP <= 1)) throw new Error(`sampling: expected 0 < topP <= 1, got ${o.topP}`);
  if (!Number.isInteger(o.limit) || o.limit < 1) throw new Error(`sampling: expected a positive integer limit, got ${o.limit}`);
}

/** The k-th largest value of `values` (k ≥ 1; all of them when k ≥ length). */
function kthLargest(values: Float32Array, k: number): number {
  if (k >= values.length) return -Infinity;
  const sorted = Float32Array.from(values).sort(); // ascending
  return sorted[sorted.length - k];
}

/**
 * Sample a token id from logits[offset … offset+limit) (the ids ≥ limit are masked out).
 * Order as in HF transformers: temperature, then top-k, then top-p, then a draw from the softmax of the rest.
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng, offset = 0): number {
  const n = Math.min(options.limit, logits.length - offset);
  checkNoNaN(logits, offset, n);
  const scaled = new Float32Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    scaled[i] = logits[offset + i] / options.temperature;
    if (scaled[i] > max) max = scaled[i];
  }
  if (!Number.isFinite(max)) throw new Error(`sampling: expected finite logits, got a largest logit of ${max}`);
  // Top-k: a threshold on the value.
  const floor = options.topK != null ? kthLargest(scaled, options.topK) : -Infinity;
  // Probabilities (unnormalized) of the tokens above the floor.
  const p = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (scaled[i] >= floor) {
      p[i] = Math.exp(scaled[i] - max);
      total += p[i];
    }
  }
  // Top-p: the smallest probability that still belongs to the nucleus becomes the floor.
  if (options.topP != null && options.topP < 1) {
    const sorted = Float64Array.from(p).sort().reverse(); // descending
    let cumulative = 0;
    let cut = sorted[0];
    for (const q of sorted) {
      cut = q;
      cumulative += q;
      if (cumulative >= options.topP * total) break;
    }
    total = 0;
    for (let i = 0; i < n; i++) {
      if (p[i] < cut) p[i] = 0;
      total += p[i];
    }
  }
  // Draw.
  let u = rng.next() * total;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (p[i] === 0) continue;
    last = i;
    u -= p[i];
    if (u < 0) return i;
  }
  return last; // rounding: u landed at the very end
}
