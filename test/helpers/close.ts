/**
 * Numeric comparison helpers for jest (tf.test_util.expectArraysClose does not work under jest).
 */

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: expected ${b.length}, got ${a.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Largest |x| of an array. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Throws unless every |a - b| <= atol. */
export function expectAllClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, what = 'values'): void {
  const d = maxAbsDiff(a, b);
  if (!(d <= atol)) throw new Error(`${what}: max abs diff ${d} exceeds ${atol}`);
}

/** Throws unless max|a - b| <= rtol * max|b| (relative to the reference's largest magnitude). */
export function expectRelClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, what = 'values'): void {
  const d = maxAbsDiff(a, b);
  const scale = Math.max(maxAbs(b), 1e-30);
  if (!(d <= rtol * scale)) throw new Error(`${what}: max abs diff ${d} exceeds ${rtol} x max|ref| ${scale}`);
}
