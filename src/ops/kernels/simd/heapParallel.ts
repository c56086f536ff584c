/**
 * A decoding step's large products split over the heap pool (./pool.ts heapThreadPool): threads running the in-heap
 * module over tfjs-backend-wasm's heap, which exists when that heap is shared (tfjs's threaded build, the flag
 * MAMBA_TFJS_WASM_THREADS) and MAMBA_TFJS_THREADS is not 1. Each thread takes chunks of output columns; per column
 * the arithmetic is the single-threaded one, so the results equal it bit for bit. Elsewhere (a heap that is not
 * shared, browsers, small products) the callers run the module on their own thread.
 *
 * Shape glossary: M rows of x, I inputs, O outputs, RB bytes per int8 weight row. Pointers are byte offsets into the
 * heap.
 */
import { chunksFor, heapThreadPool, HeapThreadPool, type HeapElementwiseFunction, type HeapRowsFunction } from './pool';
import { int8Module, isSharedMemory } from './int8';

/** Multiply-adds below which a product stays on the calling thread: waking the workers costs tens of µs. */
const MIN_SPLIT_WORK = 1 << 18;
/** Column chunks start on multiples of this: 16 floats, one 64-byte cache line of y. */
const COLUMN_ALIGN = 16;
/** Chunks per thread: a spare one lets a free thread take over from one the OS has not scheduled. */
const CHUNKS_PER_THREAD = 2;

/** Jobs the heap pool ran since the process started (tests and benchmarks read it). */
export const heapPoolStats = { jobs: 0 };

/** The heap pool over `memory` for `work` (multiply-adds, or elements: see `min`), or null below `min` or unshared. */
function poolFor(memory: WebAssembly.Memory, work: number, min = MIN_SPLIT_WORK): HeapThreadPool | null {
  return work < min || !isSharedMemory(memory) ? null : heapThreadPool(memory, int8Module('shared'));
}

/**
 * y (M, O) = x · W [+ bias] for a float32 W (I, O), rows of x `xStride` floats apart (mixerProjectF32), over the heap
 * pool's threads. Returns false, having done nothing, when the product stays on the calling thread.
 */
export function projectF32Parallel(memory: WebAssembly.Memory, x: number, xStride: number, w: number, bias: number, y: number, M: number, I: number, O: number): boolean {
  const pool = poolFor(memory, M * I * O);
  if (pool == null) return false;
  const chunks = chunksFor(pool, O, COLUMN_ALIGN, CHUNKS_PER_THREAD).map(([o0, o1]) => [x, xStride, w + 4 * o0, O, bias ? bias + 4 * o0 : 0, y + 4 * o0, O, M, I, o1 - o0]);
  pool.run('mixerProjectF32Strided', { chunks });
  heapPoolStats.jobs++;
  return true;
}

/**
 * y (1, O) = x · dequant(q (O, RB))ᵀ [+ bias] for one row x, quantized as int8QuantizeRows left it (x16, sx): int8MatMul
 * over chunks of output rows. Returns false, having done nothing, when the product stays on the calling thread.
 */
export function int8MatVecParallel(memory: WebAssembly.Memory, x16: number, sx: number, q: number, scale: number, bias: number, y: number, I: number, O: number, RB: number): boolean {
  const pool = poolFor(memory, I * O);
  if (pool == null) return false;
  const chunks = chunksFor(pool, O, COLUMN_ALIGN, CHUNKS_PER_THREAD).map(([o0, o1]) => [x16, sx, q + o0 * RB, scale + 4 * o0, bias ? bias + 4 * o0 : 0, y + 4 * o0, 1, I, o1 - o0, RB]);
  pool.run('int8MatMul', { chunks });
  heapPoolStats.jobs++;
  return true;
}

/** Rows (transpose) or columns (sums) chunks start on multiples of this. */
const LAYOUT_ALIGN = 16;
/** Elements below which a layout, elementwise or row kernel stays on the calling thread. */
const MIN_LAYOUT_SPLIT = 1 << 16;

/** y (C, R) = xᵀ for x (R, C) (transposeRows) over chunks of rows on the heap pool; false, having done nothing, when it stays here. */
export function transposeParallel(memory: WebAssembly.Memory, x: number, y: number, R: number, C: number): boolean {
  const pool = poolFor(memory, R * C, MIN_LAYOUT_SPLIT);
  if (pool == null) return false;
  pool.run('transposeRows', { chunks: chunksFor(pool, R, LAYOUT_ALIGN, CHUNKS_PER_THREAD).map(([r0, r1]) => [x, y, R, C, r0, r1]) });
  heapPoolStats.jobs++;
  return true;
}

/**
 * y (C) = column sums of x (R, C) (sumColumns) over chunks of columns on the heap pool, acc: C float64 of scratch
 * (each chunk its own part); false, having done nothing, when it stays here.
 */
export function sumColumnsParallel(memory: WebAssembly.Memory, x: number, y: number, acc: number, R: number, C: number): boolean {
  const pool = poolFor(memory, R * C, MIN_LAYOUT_SPLIT);
  if (pool == null || C < 2 * LAYOUT_ALIGN) return false;
  pool.run('sumColumns', { chunks: chunksFor(pool, C, LAYOUT_ALIGN, CHUNKS_PER_THREAD).map(([c0, c1]) => [x, y, acc + 8 * c0, R, C, c0, c1]) });
  heapPoolStats.jobs++;
  return true;
}

/**
 * An elementwise export of the in-heap module, fn(...arrays, count, tbl) (asm/gates.ts, softplusHeapArray), over
 * `count` floats of each float32 array (pointers) in chunks of multiples of 4 on the heap pool; false, having done
 * nothing, when it stays on the calling thread.
 */
export function elementwiseHeapParallel(memory: WebAssembly.Memory, fn: HeapElementwiseFunction, arrays: number[], count: number, tbl: number): boolean {
  const pool = poolFor(memory, count, MIN_LAYOUT_SPLIT);
  if (pool == null) return false;
  const chunks = chunksFor(pool, count, 4, 2 * CHUNKS_PER_THREAD).map(([a, b]) => [...arrays.map((p) => p + 4 * a), b - a, tbl]);
  pool.run(fn, { chunks });
  heapPoolStats.jobs++;
  return true;
}

/**
 * A row-wise export of the in-heap module, fn(...arrays, D, epsBits, m0, m1) (asm/rmsNorm.ts), over `rows` rows in
 * chunks on the heap pool; false, having done nothing, when it stays on the calling thread.
 */
export function rowsHeapParallel(memory: WebAssembly.Memory, fn: HeapRowsFunction, arrays: number[], D: number, epsBits: number, rows: number): boolean {
  const pool = poolFor(memory, rows * D, MIN_LAYOUT_SPLIT);
  if (pool == null || rows < 2) return false;
  pool.run(fn, { chunks: chunksFor(pool, rows, 1, CHUNKS_PER_THREAD).map(([m0, m1]) => [...arrays, D, epsBits, m0, m1]) });
  heapPoolStats.jobs++;
  return true;
}
