/**
 * The SIMD kernels split over the thread pool (./pool.ts): chunks of channels for the threaded module's range
 * kernels (asm/scanRange.ts, asm/conv.ts), taken by whichever thread is free, over the shared memory the
 * callers laid out. Per channel each chunk runs the single-threaded arithmetic, so scan forward, conv, softplus and the gates
 * give the single-threaded results bit for bit, and so do the scan gradients but dB and dC: those sum float64
 * partials per chunk, in chunk order — independent of the thread count and of which thread ran what, but added in
 * another order than on one thread (within float32 rounding).
 *
 * Shape glossary: B batch, L length, ED inner channels, NP state size padded to a multiple of 4, K conv width.
 * Pointers are byte offsets into the pool's shared memory.
 */
import type { Arena } from './arena';
import { chunksFor, minParallelWork, PoolFunction, simdThreadPool, SimdThreadPool } from './pool';

/** Channel chunks start on multiples of this: the backward scan's float32 channel block (E_BLOCK in asm/scan.ts). */
const CHANNEL_ALIGN = 16;
/**
 * Chunks per thread: more let the free threads take over from one the OS has not scheduled (a loaded machine),
 * fewer cost less — each chunk walks every (b, t) row for its channels: measured at B 4, L 1024, ED 128 on one
 * thread, 8 chunks instead of 1 cost +20–35 % on the forward scan and ×2 on the conv backward, 2 chunks +2–10 %.
 * The backward scan's chunks also keep float64 partials of dB and dC (B, L, NP) each.
 */
const CHUNKS_PER_THREAD = { scan: 2, conv: 1, elementwise: 4 };

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

/** Forward scan over channel chunks: y (B, L, ED), h (ED, NP) scratch or (B, ED, NP) final states (hStride bytes apart). */
export function scanForwardParallel(pool: SimdThreadPool, p: ScanPointers & { y: number; h: number }, B: number, L: number, ED: number, NP: number, hStride = 0): void {
  const chunks = chunksFor(pool, ED, CHANNEL_ALIGN, CHUNKS_PER_THREAD.scan).map(([e0, e1]) => [p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.y, p.h, B, L, ED, NP, e0, e1, hStride]);
  pool.run('scanForwardRange', { chunks });
}

/** Scratch of the split backward scan, reserved from the caller's arena. */
export interface BackwardParallelScratch {
  ranges: [number, number][];
  /** (chunks, 2, B, L, NP) float64: per chunk the partial dB then dC. */
  parts: number;
  /** (ED, NP) and (ED) float64 accumulators. */
  dA64: number;
  dD64: number;
  /** (threads) × rangeScratchBytes(L, NP) bytes: each thread's own. */
  scratch: number;
  scratchBytes: number;
}

/** Reserves the split backward scan's scratch from `ar` (grow the memory to ar.end afterwards). */
export function backwardParallelScratch(pool: SimdThreadPool, ar: Arena, B: number, L: number, ED: number, NP: number): BackwardParallelScratch {
  const ranges = chunksFor(pool, ED, CHANNEL_ALIGN, CHUNKS_PER_THREAD.scan);
  const scratchBytes = Math.ceil(pool.module.rangeScratchBytes(L, NP) / 16) * 16;
  return {
    ranges,
    parts: ar.bytes(ranges.length * 2 * B * L * NP * 8),
    dA64: ar.bytes(ED * NP * 8),
    dD64: ar.bytes(ED * 8),
    scratch: ar.bytes(pool.size * scratchBytes),
    scratchBytes,
  };
}

/**
 * Backward scan over channel chunks, then the float64 partials of dB and dC summed into dB, dC (B, L, NP) — which
 * must be adjacent (dC = dB + B·L·NP·4).
 */
export function scanBackwardParallel(
  pool: SimdThreadPool, p: ScanPointers & { dy: number; dx: number; ddelta: number; dA: number; dB: number; dC: number; dD: number },
  s: BackwardParallelScratch, B: number, L: number, ED: number, NP: number,
): void {
  const nNP = B * L * NP; // elements of (B, L, NP)
  if (p.dC !== p.dB + nNP * 4) throw new Error(`parallel.ts: dC must follow dB in memory (dB at ${p.dB}, dC at ${p.dC})`);
  const partBytes = 2 * nNP * 8;
  const chunks = s.ranges.map(([e0, e1], i) => [
    p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.dy, p.dx, p.ddelta, p.dA, p.dD,
    s.parts + i * partBytes, s.parts + i * partBytes + nNP * 8, s.dA64, s.dD64, s.scratch, B, L, ED, NP, e0, e1,
  ]);
  pool.run('scanBackwardRange', { chunks, perThread: { arg: 15, stride: s.scratchBytes } });
  const sums = chunksFor(pool, 2 * nNP, 4, CHUNKS_PER_THREAD.elementwise).map(([i0, i1]) => [p.dB, s.parts, partBytes, s.ranges.length, i0, i1]);
  pool.run('reducePartials', { chunks: sums });
}

/** Conv forward over channel chunks: x, y (B, L, ED), w (K, ED), bias (ED). */
export function convForwardParallel(pool: SimdThreadPool, p: { x: number; w: number; bias: number; y: number }, B: number, L: number, ED: number, K: number): void {
  const chunks = chunksFor(pool, ED, 4, CHUNKS_PER_THREAD.conv).map(([e0, e1]) => [p.x, p.w, p.bias, p.y, B, L, ED, K, e0, e1]);
  pool.run('convForwardRange', { chunks });
}

/** Conv backward chunks and their per-thread scratch, reserved from `ar`. */
export function convBackwardParallelScratch(pool: SimdThreadPool, ar: Arena, ED: number, K: number): { ranges: [number, number][]; scratch: number; scratchBytes: number } {
  const ranges = chunksFor(pool, ED, 4, CHUNKS_PER_THREAD.conv);
  const widest = Math.max(...ranges.map(([e0, e1]) => e1 - e0));
  const scratchBytes = Math.ceil(pool.module.convRangeScratchBytes(widest, K) / 16) * 16;
  return { ranges, scratch: ar.bytes(pool.size * scratchBytes), scratchBytes };
}

/** Conv backward over channel chunks: dx (B, L, ED), dw (K, ED), dbias (ED). */
export function convBackwardParallel(
  pool: SimdThreadPool, p: { x: number; w: number; dy: number; dx: number; dw: number; dbias: number },
  s: { ranges: [number, number][]; scratch: number; scratchBytes: number }, B: number, L: number, ED: number, K: number,
): void {
  const chunks = s.ranges.map(([e0, e1]) => [p.x, p.w, p.dy, p.dx, p.dw, p.dbias, s.scratch, B, L, ED, K, e0, e1]);
  pool.run('convBackwardRange', { chunks, perThread: { arg: 6, stride: s.scratchBytes } });
}

/** softplus over `count` floats at src into dst, in chunks of multiples of 4. */
export function softplusParallel(pool: SimdThreadPool, src: number, dst: number, count: number): void {
  elementwiseParallel(pool, 'softplusArray', [src, dst], count);
}

/**
 * An elementwise export fn(...arrays, count, ...extra) (asm/softplus.ts, asm/gates.ts: extra = [tbl]) over `count`
 * floats of each of the float32 `arrays` (inputs and outputs, pointers), in chunks of multiples of 4.
 */
export function elementwiseParallel(pool: SimdThreadPool, fn: PoolFunction, arrays: number[], count: number, extra: number[] = []): void {
  const chunks = chunksFor(pool, count, 4, CHUNKS_PER_THREAD.elementwise).map(([a, b]) => [...arrays.map((p) => p + a * 4), b - a, ...extra]);
  pool.run(fn, { chunks });
}
