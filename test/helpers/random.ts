/**
 * Seeded random inputs for tests, so failures reproduce: mulberry32 (src/tasks/rng.ts's generator)
 * started from the raw seed, and uniform / log-uniform float32 arrays drawn from it.
 */
import { Rng } from '../../src/tasks/rng';

/** A seeded uniform generator in [0, 1): mulberry32 whose state starts at `seed` (a uint32, not mixed). */
export function rng(seed: number): () => number {
  const g = Rng.fromState(seed >>> 0);
  return () => g.next();
}

/** `n` float32 values uniform in [lo, hi), drawn from `r`. */
export function uniformArray(r: () => number, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** One value log-uniform in [lo, hi) (0 < lo < hi), drawn from `r`. */
export function logUniform(r: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * r());
}
