/**
 * The Node worker pools of the SIMD kernels: worker_threads, each with its own instance of a module over one shared
 * WebAssembly.Memory. Two kinds: the kernel pool (the threaded module, asm/threaded.ts, embedded in
 * src/ops/kernels/simd/threadedWasmBinary.ts, over a memory of its own), and a heap pool (the in-heap module,
 * asm/int8.ts's shared build, over tfjs-backend-wasm's heap when that is shared: its threaded build).
 * Installed by setupNode() through setSimdThreadPoolFactory and setHeapThreadPoolFactory; the kernels (src/ops/kernels/simd/parallel.ts,
 * heapParallel.ts) cut
 * their work into chunks and call run(), which blocks the calling thread (Atomics.wait, allowed on Node's main
 * thread) until every chunk is done: tfjs kernels return synchronously.
 *
 * Scheduling: the caller and the workers take chunks from one atomic counter, so a worker that the OS has not
 * scheduled yet (a loaded machine) costs nothing: the others take its chunks, and at worst the caller runs them
 * all. The counter holds the job's generation in its high bits, so a worker waking late for a finished job claims
 * nothing of the next. Control block (Int32Array over a SharedArrayBuffer): the words below, then MAX_CHUNKS
 * slots of MAX_ARGS i32 arguments. Pointers above 2 GiB wrap to negative i32 and reach the module as the same bits.
 */
import { Worker } from 'worker_threads';
import { availableCores } from './cores';
import { THREADED_WASM_BASE64 } from '../ops/kernels/simd/threadedWasmBinary';
import type { GateFunction, HeapPoolFunction, HeapThreadPool, PoolFunction, PoolJob, SimdThreadPool, ThreadPool, ThreadedWasmExports } from '../ops/kernels/simd/pool';

const GEN = 0; // job generation (workers wait on it)
const NEXT = 1; // (generation << 16) | next chunk to claim
const DONE = 2; // chunks finished (the caller waits on it)
const READY = 3; // workers started
const ERROR = 4; // set when a chunk failed
const FN = 5; // function index
const CHUNKS = 6; // chunks of the job
const NARGS = 7; // arguments per chunk
const PER_THREAD_ARG = 8; // index of the argument offset per thread (-1: none)
const PER_THREAD_STRIDE = 9; // … by thread index × this
const QUIT = 10;
const HEADER = 16;
const MAX_ARGS = 24;
const MAX_CHUNKS = 256;
const GATE_FUNCTIONS: GateFunction[] = ['siluArray', 'siluMulArray', 'sigmoidMulArray', 'siluGradArray', 'gateGradArray'];
const FUNCTIONS: PoolFunction[] = [
  'scanForwardRange', 'scanBackwardRange', 'reducePartials', 'convForwardRange', 'convBackwardRange', 'softplusArray', ...GATE_FUNCTIONS,
];
const HEAP_FUNCTIONS: HeapPoolFunction[] = ['mixerProjectF32Strided', 'int8MatMul', 'transposeRows', 'sumColumns', ...GATE_FUNCTIONS, 'softplusHeapArray', 'rmsNormalizeRows', 'rmsNormalizeGradRows'];
/** Longest wait for the workers to start before giving up on the pool. */
const START_TIMEOUT_MS = 20000;

/**
 * Claims and runs chunks of the job of generation `gen` until none is left; the same source runs on every thread
 * (the caller compiles it below, the workers with their program), so it names the control words by number.
 */
const WORK_SOURCE = `(ctl, fns, index, gen) => {
  for (;;) {
    const v = Atomics.load(ctl, ${NEXT});
    if (v >>> 16 !== gen || (v & 0xffff) >= ctl[${CHUNKS}]) return;
    if (Atomics.compareExchange(ctl, ${NEXT}, v, v + 1) !== v) continue;
    const at = ${HEADER} + (v & 0xffff) * ${MAX_ARGS};
    const args = Array.from(ctl.subarray(at, at + ctl[${NARGS}]));
    if (ctl[${PER_THREAD_ARG}] >= 0) args[ctl[${PER_THREAD_ARG}]] += index * ctl[${PER_THREAD_STRIDE}];
    try {
      fns[ctl[${FN}]](...args);
    } catch (e) {
      Atomics.store(ctl, ${ERROR}, 1);
    }
    if (Atomics.add(ctl, ${DONE}, 1) + 1 === ctl[${CHUNKS}]) Atomics.notify(ctl, ${DONE});
  }
}`;
type Work = (ctl: Int32Array, fns: ((...a: number[]) => void)[], index: number, gen: number) => void;
const work = new Function(`return ${WORK_SOURCE}`)() as Work;

/** The worker's program (run with eval: plain JavaScript, no import of this package). */
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { module, memory, control, index, names } = workerData;
const ctl = new Int32Array(control);
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
const work = ${WORK_SOURCE};
Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  if (Atomics.load(ctl, ${QUIT}) !== 0) break;
  work(ctl, fns, index, seen);
}
`;

/** The module's bytes, compiled once per process. */
let compiled: WebAssembly.Module | null = null;
function threadedModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(THREADED_WASM_BASE64, 'base64'));
  return compiled;
}

/** Threads running the exports `names` of one module over one shared memory; the caller holds `exports`. */
class NodeWasmPool<F extends string> implements ThreadPool<F> {
  readonly size: number;
  readonly exports: Record<string, unknown>;
  readonly maxChunks = MAX_CHUNKS;
  private readonly ctl: Int32Array;
  private readonly fns: ((...a: number[]) => void)[];
  private readonly workers: Worker[] = [];

  constructor(size: number, mod: WebAssembly.Module, memory: WebAssembly.Memory, private readonly names: readonly F[]) {
    this.exports = new WebAssembly.Instance(mod, { env: { memory } }).exports as Record<string, unknown>;
    this.fns = names.map((n) => this.exports[n] as (...a: number[]) => void);
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (HEADER + MAX_CHUNKS * MAX_ARGS)));
    this.size = size;
    for (let index = 1; index < size; index++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: mod, memory, control: this.ctl.buffer, index, names } });
      w.unref(); // the pool never keeps the process alive
      w.on('error', () => Atomics.store(this.ctl, ERROR, 1));
      this.workers.push(w);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    let ready: number;
    while ((ready = Atomics.load(this.ctl, READY)) < size - 1 && Date.now() < deadline && Atomics.load(this.ctl, ERROR) === 0) {
      Atomics.wait(this.ctl, READY, ready, 50);
    }
    if (ready < size - 1) {
      this.dispose();
      throw new Error(`simdPool.ts: ${ready} of ${size - 1} worker threads started`);
    }
  }

  run(fn: F, job: PoolJob): void {
    const { ctl } = this;
    const { chunks, perThread } = job;
    const nArgs = chunks[0]?.length ?? 0;
    if (chunks.length === 0) return;
    if (chunks.length > MAX_CHUNKS || nArgs > MAX_ARGS || chunks.some((c) => c.length !== nArgs)) {
      throw new Error(`simdPool.ts: expected at most ${MAX_CHUNKS} chunks of one length <= ${MAX_ARGS} arguments, got ${chunks.length} of ${nArgs}`);
    }
    const gen = (ctl[GEN] + 1) & 0x7fff;
    ctl[FN] = this.names.indexOf(fn);
    ctl[CHUNKS] = chunks.length;
    ctl[NARGS] = nArgs;
    ctl[PER_THREAD_ARG] = perThread ? perThread.arg : -1;
    ctl[PER_THREAD_STRIDE] = perThread ? perThread.stride : 0;
    chunks.forEach((c, i) => ctl.set(c, HEADER + i * MAX_ARGS));
    Atomics.store(ctl, ERROR, 0);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, NEXT, gen << 16);
    Atomics.store(ctl, GEN, gen);
    Atomics.notify(ctl, GEN);
    work(ctl, this.fns, 0, gen);
    let d: number;
    while ((d = Atomics.load(ctl, DONE)) < chunks.length) {
      // A worker that died mid-chunk (its 'error' event sets ERROR) never finishes it: give up rather than hang.
      if (Atomics.wait(ctl, DONE, d, 1000) === 'timed-out' && Atomics.load(ctl, ERROR) !== 0) break;
    }
    if (Atomics.load(ctl, ERROR) !== 0) throw new Error(`simdPool.ts: ${fn} failed on one of its chunks`);
  }

  dispose(): void {
    Atomics.store(this.ctl, QUIT, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/** The kernel pool: the threaded module over a shared memory of its own. */
class NodeSimdPool extends NodeWasmPool<PoolFunction> implements SimdThreadPool {
  readonly module: ThreadedWasmExports;

  constructor(size: number, memory: WebAssembly.Memory) {
    super(size, threadedModule(), memory, FUNCTIONS);
    this.module = this.exports as unknown as ThreadedWasmExports;
  }
}

/** Pool size for `threads` (0: one per available core), or 0 when this thread may not block or has no shared memory. */
function poolSize(threads: number): number {
  const size = threads > 0 ? threads : availableCores();
  if (size <= 1) return 0;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // throws where this thread may not block
    return size;
  } catch {
    return 0;
  }
}

/**
 * A kernel pool of `threads` threads (0: one per available core), the calling one included, or null when worker
 * threads, shared WebAssembly memory or blocking waits are unavailable here.
 */
export function createNodeSimdPool(threads: number): SimdThreadPool | null {
  const size = poolSize(threads);
  if (size === 0) return null;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    return new NodeSimdPool(size, memory);
  } catch {
    return null;
  }
}

/** A heap pool: `module` (the in-heap module's shared build) over tfjs-backend-wasm's shared heap `memory`, or null. */
export function createNodeHeapPool(memory: WebAssembly.Memory, module: WebAssembly.Module, threads: number): HeapThreadPool | null {
  const size = poolSize(threads);
  if (size === 0) return null;
  try {
    return new NodeWasmPool(size, module, memory, HEAP_FUNCTIONS);
  } catch {
    return null;
  }
}
