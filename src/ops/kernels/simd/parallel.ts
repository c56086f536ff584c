/**
 * The SIMD kernels split over the thread pool (./pool.ts): channel ranges of the threaded module's range kernels
 * (asm/scanRange.ts, asm/convRange.ts), run on every thread over the shared memory the callers laid out. Per
 * channel each range runs the single-threaded arithmetic, so scan forward, conv and softplus give the
 * single-threaded results bit for bit, and so do every scan gradient but dB and dC, whose float64 partial sums
 * over channel ranges are added in another order (within float32 rounding).
 *
 * Shape glossary: B batch, L length, ED inner channels, NP state size padded to a multiple of 4, K conv width.
 * Pointers are byte offsets into the pool's shared memory.
 */
import type { Arena } from './arena';
import { minParallelWork, simdThreadPool, SimdThreadPool, splitRange } from './pool';

/** Channel ranges start on multiples of this: the backward scan's float32 channel block (E_BLOCK in asm/scan.ts). */
const CHANNEL_ALIGN = 16;

/** The pool to split `work` elements over when `module` is the pool's instance and the work is large enough, else null. */
export function parallelPool(module: unknown, work: number): SimdThreadPool | null {
  if (work < minParallelWork) return null;
  const pool = simdThreadPool();
  return pool != null && pool.module === module ? pool : null;
}

/** Pointers of the scan's arrays in the shared memory. */
export interface ScanPointers {
  x: number; delta: number; A: number; Bm: number; Cm: number; D: number;
}

/** Forward scan over channel ranges: y (B, L, ED), h (ED, NP) scratch. */
export function scanForwardParallel(pool: SimdThreadPool, p: ScanPointers & { y: number; h: number }, B: number, L: number, ED: number, NP: number): void {
  const ranges = splitRange(ED, pool.size, CHANNEL_ALIGN);
  pool.run('scanForwardRange', ranges.map(([e0, e1]) => [p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.y, p.h, B, L, ED, NP, e0, e1]));
}

/** Scratch of the split backward scan, reserved from the caller's arena. */
export interface BackwardParallelScratch {
  ranges: [number, number][];
  /** (ranges, 2, B, L, NP) float64: per range the partial dB then dC. */
  parts: number;
  /** (ED, NP) and (ED) float64 accumulators. */
  dA64: number;
  dD64: number;
  /** Per range: rangeScratchBytes(L, NP) bytes. */
  scratch: number[];
}

/** Reserves the split backward scan's scratch from `ar` (grow the memory to ar.end afterwards). */
export function backwardParallelScratch(pool: SimdThreadPool, ar: Arena, B: number, L: number, ED: number, NP: number): BackwardParallelScratch {
  const ranges = splitRange(ED, pool.size, CHANNEL_ALIGN);
  const nNP = B * L * NP; // elements of (B, L, NP)
  return {
    ranges,
    parts: ar.bytes(ranges.length * 2 * nNP * 8),
    dA64: ar.bytes(ED * NP * 8),
    dD64: ar.bytes(ED * 8),
    scratch: ranges.map(() => ar.bytes(pool.module.rangeScratchBytes(L, NP))),
  };
}

/**
 * Backward scan over channel ranges, then the float64 partials of dB and dC summed into dB, dC (B, L, NP) — which
 * must be adjacent (dC = dB + B·L·NP·4).
 */
export function scanBackwardParallel(
  pool: SimdThreadPool, p: ScanPointers & { dy: number; dx: number; ddelta: number; dA: number; dB: number; dC: number; dD: number },
  s: BackwardParallelScratch, B: number, L: number, ED: number, NP: number,
): void {
  const nNP = B * L * NP; // elements of (B, L, NP)
  if (p.dC !== p.dB + nNP * 4) throw new Error(`parallel.ts: dC must follow dB in memory (dB at ${p.dB}, dC at ${p.dC})`);
  const partBytes = 2 * nNP * 8;
  pool.run('scanBackwardRange', s.ranges.map(([e0, e1], i) => [
    p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.dy, p.dx, p.ddelta, p.dA, p.dD,
    s.parts + i * partBytes, s.parts + i * partBytes + nNP * 8, s.dA64, s.dD64, s.scratch[i], B, L, ED, NP, e0, e1,
  ]));
  const sums = splitRange(2 * nNP, pool.size, 4);
  pool.run('reducePartials', sums.map(([i0, i1]) => [p.dB, s.parts, partBytes, s.ranges.length, i0, i1]));
}

/** Conv forward over channel ranges: x, y (B, L, ED), w (K, ED), bias (ED). */
export function convForwardParallel(pool: SimdThreadPool, p: { x: number; w: number; bias: number; y: number }, B: number, L: number, ED: number, K: number): void {
  const ranges = splitRange(ED, pool.size, 4);
  pool.run('convForwardRange', ranges.map(([e0, e1]) => [p.x, p.w, p.bias, p.y, B, L, ED, K, e0, e1]));
}

/** Reserves per-range conv backward scratch from `ar`; returns the ranges and their scratch pointers. */
export function convBackwardParallelScratch(pool: SimdThreadPool, ar: Arena, ED: number, K: number): { ranges: [number, number][]; scratch: number[] } {
  const ranges = splitRange(ED, pool.size, 4);
  return { ranges, scratch: ranges.map(([e0, e1]) => ar.bytes(pool.module.convRangeScratchBytes(e1 - e0, K))) };
}

/** Conv backward over channel ranges: dx (B, L, ED), dw (K, ED), dbias (ED). */
export function convBackwardParallel(
  pool: SimdThreadPool, p: { x: number; w: number; dy: number; dx: number; dw: number; dbias: number },
  s: { ranges: [number, number][]; scratch: number[] }, B: number, L: number, ED: number, K: number,
): void {
  pool.run('convBackwardRange', s.ranges.map(([e0, e1], i) => [p.x, p.w, p.dy, p.dx, p.dw, p.dbias, s.scratch[i], B, L, ED, K, e0, e1]));
}

/** softplus over `count` floats at src into dst, split in ranges of multiples of 4. */
export function softplusParallel(pool: SimdThreadPool, src: number, dst: number, count: number): void {
  const ranges = splitRange(count, pool.size, 4);
  pool.run('softplusArray', ranges.map(([a, b]) => [src + a * 4, dst + a * 4, b - a]));
}
