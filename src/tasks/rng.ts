/**
 * A small seeded pseudo-random number generator (mulberry32) for the synthetic tasks.
 *
 * Its whole state is one unsigned 32-bit integer, so a training run can store it in its
 * train-state JSON and `--resume` continues the exact same data stream.
 */

/** Turns any finite number into a uint32 seed (non-integers and negatives are folded in). */
export function toSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`seed: expected a finite number, got ${seed}`);
  // Mix the value so that nearby seeds (0, 1, 2, ...) start far apart in the stream.
  let h = Math.floor(seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Seeded PRNG: mulberry32, period 2^32, plenty for on-the-fly task generation. */
export class Rng {
  private s: number;

  /** @param seed any finite number; equal seeds give equal streams. */
  constructor(seed: number) {
    this.s = toSeed(seed);
  }

  /** Rebuilds a generator from a state saved with {@link Rng.state}. */
  static fromState(state: number): Rng {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new Error(`Rng state: expected a uint32, got ${state}`);
    }
    const r = new Rng(0);
    r.s = state >>> 0;
    return r;
  }

  /** The current state (a uint32); feed it to {@link Rng.fromState} to continue the stream. */
  get state(): number {
    return this.s;
  }

  /** Next uniformly distributed uint32. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: expected a positive integer bound, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`Rng.range: expected lo <= hi, got lo=${lo}, hi=${hi}`);
    return lo + this.int(hi - lo + 1);
  }

  /**
   * k distinct integers from [0, n), in increasing order (partial Fisher-Yates on an index list
   * for small n, rejection sampling for sparse picks from a large range).
   */
  sampleSorted(n: number, k: number): number[] {
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new Error(`Rng.sampleSorted: expected 0 <= k <= n, got k=${k}, n=${n}`);
    }
    if (k * 4 < n) {
      const picked = new Set<number>();
      while (picked.size < k) picked.add(this.int(n));
      return [...picked].sort((a, b) => a - b);
    }
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    return idx.slice(0, k).sort((a, b) => a - b);
  }

  /** A new independent generator seeded from this one's stream (advances this one once). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}
