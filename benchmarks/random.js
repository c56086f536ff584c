/**
 * Seeded random inputs for the benchmarks: dist's mulberry32 generator (src/tasks/rng.ts) started
 * from the raw seed, and uniform / log-uniform float32 draws from it. Needs `npm run build`.
 */
const { Rng } = require('../dist/tasks/rng');

/** A seeded uniform generator in [0, 1): mulberry32 whose state starts at `seed` (a uint32, not mixed). */
function rng(seed) {
  const g = Rng.fromState(seed >>> 0);
  return () => g.next();
}

/** `n` float32 values uniform in [lo, hi) (default [-1, 1)), drawn from `r`. */
function uniformArray(r, n, lo = -1, hi = 1) {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** One value log-uniform in [lo, hi) (0 < lo < hi), drawn from `r`. */
function logUniform(r, lo, hi) {
  return Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * r());
}

module.exports = { rng, uniformArray, logUniform };
