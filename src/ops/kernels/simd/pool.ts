/**
 * The thread pool of the SIMD kernels, as the browser-safe core sees it: an interface and a setter. The Node entry
 * (setupNode) installs a factory that starts worker_threads over one shared WebAssembly.Memory
 * (src/node/simdPool.ts); elsewhere (browsers, where the main thread may not block on Atomics.wait) there is no
 * factory and every kernel runs on the calling thread.
 *
 * Thread count: the flag MAMBA_TFJS_THREADS; 0 (the default) lets the factory pick (Node: one per core), 1 turns
 * the pool off. Small problems run on the calling thread whatever the flag (see minParallelWork).
 */
import { threadsFlag } from '../../../flags';
import type { ScanWasmExports } from './module';

/** The threaded module's exports (asm/threaded.ts): the single-threaded ones plus the channel-range kernels. */
export interface ThreadedWasmExports extends ScanWasmExports {
  /** Forward scan over channels [e0, e1) (asm/scanRange.ts). */
  scanForwardRange(...args: number[]): void;
  /** Backward scan over channels [e0, e1), with float64 partials of dB and dC (asm/scanRange.ts). */
  scanBackwardRange(...args: number[]): void;
  /** Bytes of one range's backward scratch for (L, NP). */
  rangeScratchBytes(L: number, NP: number): number;
  /** Sum of float64 partials into float32, over [i0, i1). */
  reducePartials(dst: number, src: number, partBytes: number, parts: number, i0: number, i1: number): void;
  /** Conv forward over channels [e0, e1) (asm/conv.ts). */
  convForwardRange(...args: number[]): void;
  /** Conv backward over channels [e0, e1). */
  convBackwardRange(...args: number[]): void;
  /** Bytes of one range's conv backward scratch for (W channels, K). */
  convRangeScratchBytes(W: number, K: number): number;
  /** softplus over `count` floats (asm/softplus.ts). */
  softplusArray(src: number, dst: number, count: number): void;
  /** The gates over `count` floats (asm/gates.ts): pointers of the inputs, then of the outputs, then count. */
  siluArray(...args: number[]): void;
  siluMulArray(...args: number[]): void;
  sigmoidMulArray(...args: number[]): void;
  siluGradArray(...args: number[]): void;
  gateGradArray(...args: number[]): void;
}

/** Names of the exports a pool runs. */
export type PoolFunction = 'scanForwardRange' | 'scanBackwardRange' | 'reducePartials' | 'convForwardRange' | 'convBackwardRange' | 'softplusArray'
  | GateFunction;

/** The gate kernels' exports (asm/gates.ts), elementwise over `count` floats. */
export type GateFunction = 'siluArray' | 'siluMulArray' | 'sigmoidMulArray' | 'siluGradArray' | 'gateGradArray';

/** Work for the pool: one argument list per chunk, all of one length. */
export interface PoolJob {
  /** The arguments of each chunk (at most maxChunks chunks). */
  chunks: number[][];
  /** Argument `arg` of every chunk gets `stride` × the index of the thread that runs it added (per-thread scratch). */
  perThread?: { arg: number; stride: number };
}

/** Threads running exports `F` of one module over one shared memory. */
export interface ThreadPool<F extends string> {
  /** Threads, the calling one included. */
  readonly size: number;
  /** Most chunks one job may have. */
  readonly maxChunks: number;
  /**
   * Runs module[fn](...chunk) for every chunk of the job, the chunks taken in order by whichever thread is free
   * (the caller among them; thread indices 0 … size − 1), and returns when all are done; throws when one failed.
   */
  run(fn: F, job: PoolJob): void;
  /** Stops the threads. */
  dispose(): void;
}

/** The kernel pool: the threaded module's exports over a shared memory of its own. */
export interface SimdThreadPool extends ThreadPool<PoolFunction> {
  /** The calling thread's instance of the threaded module; its memory is the shared one. */
  readonly module: ThreadedWasmExports;
}

/** Makes a pool of `threads` threads (0: the platform's choice), or returns null when it cannot. */
export type SimdThreadPoolFactory = (threads: number) => SimdThreadPool | null;

let factory: SimdThreadPoolFactory | null = null;
/** The pool made for each value of the flag (null: none could be made), kept so that switching back is free. */
const pools = new Map<number, SimdThreadPool | null>();

/** Installs how pools are made (the Node entry does); null removes it. Either way the pools made so far stop. */
export function setSimdThreadPoolFactory(f: SimdThreadPoolFactory | null): void {
  for (const p of pools.values()) p?.dispose();
  pools.clear();
  factory = f;
}

/** The pool `byFlag` holds for `want` (the flag's value), made by `make` on first use; null when none of 2+ threads. */
function cachedPool<P extends ThreadPool<string>>(byFlag: Map<number, P | null>, want: number, make: () => P | null): P | null {
  if (!byFlag.has(want)) {
    const made = make();
    if (made != null && made.size <= 1) made.dispose();
    byFlag.set(want, made != null && made.size > 1 ? made : null);
  }
  return byFlag.get(want) ?? null;
}

/**
 * The pool the kernels split their work over, made on first use for each value of MAMBA_TFJS_THREADS, or null:
 * no factory, the flag is 1, or the factory could not make a pool of more than one thread.
 */
export function simdThreadPool(): SimdThreadPool | null {
  const want = threadsFlag();
  const f = factory;
  if (f == null || want === 1) return null;
  return cachedPool(pools, want, () => f(want));
}

/** Elements of work (B·L·ED·NP for the scan, B·L·ED for the rest) below which a kernel stays on one thread. */
export const minParallelWork = 1 << 15;

/**
 * Splits [0, n) into at most `parts` contiguous ranges whose inner bounds are multiples of `align`, as even as
 * that allows; empty ranges are left out.
 */
export function splitRange(n: number, parts: number, align: number): [number, number][] {
  const units = Math.ceil(n / align);
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    const a = Math.min(n, Math.floor((units * i) / parts) * align);
    const b = Math.min(n, Math.floor((units * (i + 1)) / parts) * align);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** [0, n) in chunks (inner bounds multiples of `align`) for `perThread` chunks per thread of `pool`. */
export function chunksFor(pool: ThreadPool<string>, n: number, align: number, perThread: number): [number, number][] {
  return splitRange(n, Math.min(pool.maxChunks, pool.size * perThread), align);
}

/** The in-heap module's exports a heap pool runs (asm/int8.ts, over tfjs-backend-wasm's heap). */
/** The in-heap module's elementwise exports, fn(...arrays, count, tbl). */
export type HeapElementwiseFunction = GateFunction | 'softplusHeapArray';

/** The in-heap module's row-wise exports, fn(...arrays, D, epsBits, m0, m1). */
export type HeapRowsFunction = 'rmsNormalizeRows' | 'rmsNormalizeGradRows';

export type HeapPoolFunction = 'mixerProjectF32Strided' | 'int8MatMul' | 'transposeRows' | 'sumColumns' | HeapElementwiseFunction | HeapRowsFunction;

/**
 * Threads running the in-heap module (./int8.ts) over tfjs-backend-wasm's heap, which they can share only when it
 * is a shared memory: tfjs's threaded build (the flag MAMBA_TFJS_WASM_THREADS). Same scheduling as SimdThreadPool.
 */
export type HeapThreadPool = ThreadPool<HeapPoolFunction>;

/** Makes a pool of `threads` threads (0: the platform's choice) running `module` over `memory`, or null. */
export type HeapThreadPoolFactory = (memory: WebAssembly.Memory, module: WebAssembly.Module, threads: number) => HeapThreadPool | null;

let heapFactory: HeapThreadPoolFactory | null = null;
/** Pools per heap and flag value (null: none could be made). */
const heapPools = new Map<WebAssembly.Memory, Map<number, HeapThreadPool | null>>();

/** Installs how heap pools are made (the Node entry does); null removes it. Either way the heap pools made so far stop. */
export function setHeapThreadPoolFactory(f: HeapThreadPoolFactory | null): void {
  for (const byFlag of heapPools.values()) for (const p of byFlag.values()) p?.dispose();
  heapPools.clear();
  heapFactory = f;
}

/**
 * The pool for the in-heap kernels over `memory` (tfjs-backend-wasm's heap), made on first use for each value of
 * MAMBA_TFJS_THREADS, or null: no factory, the flag is 1, the heap is not shared, or no pool of more than one
 * thread could be made. `module`: the in-heap module built for a shared memory.
 */
export function heapThreadPool(memory: WebAssembly.Memory, module: WebAssembly.Module | null): HeapThreadPool | null {
  const want = threadsFlag();
  if (heapFactory == null || module == null || want === 1) return null;
  if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  let byFlag = heapPools.get(memory);
  if (byFlag == null) heapPools.set(memory, (byFlag = new Map()));
  const f = heapFactory;
  return cachedPool(byFlag, want, () => f(memory, module, want));
}
