/**
 * The Node worker pool of the SIMD kernels: worker_threads, each with its own instance of the threaded module
 * (asm/threaded.ts, embedded in src/ops/kernels/simd/threadedWasmBinary.ts) over one shared WebAssembly.Memory.
 * Installed by setupNode() through setSimdThreadPoolFactory; the kernels (src/ops/kernels/simd/) split their work
 * over channel ranges and call run(), which blocks the calling thread (Atomics.wait, allowed on Node's main thread)
 * until every range is done: tfjs kernels return synchronously.
 *
 * Control block (an Int32Array over a SharedArrayBuffer): GEN counts jobs (workers wait on it), PENDING counts
 * workers still running the current job (the caller waits on it), READY counts started workers, ERROR is set by a
 * failing worker; then per worker a slot of 1 + MAX_ARGS i32: the argument count (0: nothing to do) and the
 * arguments. Pointers above 2 GiB wrap to negative i32 and reach the module as the same bits.
 */
import { Worker } from 'worker_threads';
import * as os from 'os';
import { THREADED_WASM_BASE64 } from '../ops/kernels/simd/threadedWasmBinary';
import type { PoolFunction, SimdThreadPool, ThreadedWasmExports } from '../ops/kernels/simd/pool';

const GEN = 0;
const PENDING = 1;
const READY = 2;
const ERROR = 3;
const FN = 4;
const QUIT = 5;
const SLOTS = 8;
const MAX_ARGS = 31;
const FUNCTIONS: PoolFunction[] = ['scanForwardRange', 'scanBackwardRange', 'reducePartials', 'convForwardRange', 'convBackwardRange', 'softplusArray'];
/** Longest wait for the workers to start before giving up on the pool. */
const START_TIMEOUT_MS = 20000;

/** The worker's program (run with eval: plain JavaScript, no import of this package). */
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { module, memory, control, index, names } = workerData;
const ctl = new Int32Array(control);
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
const slot = ${SLOTS} + index * ${MAX_ARGS + 1};
Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  if (Atomics.load(ctl, ${QUIT}) !== 0) break;
  const n = ctl[slot];
  try {
    if (n > 0) fns[ctl[${FN}]](...ctl.subarray(slot + 1, slot + 1 + n));
  } catch (e) {
    Atomics.store(ctl, ${ERROR}, 1);
  }
  if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
}
`;

/** The module's bytes, compiled once per process. */
let compiled: WebAssembly.Module | null = null;
function threadedModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(THREADED_WASM_BASE64, 'base64'));
  return compiled;
}

/** Cores this process may use. */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

class NodeSimdPool implements SimdThreadPool {
  readonly size: number;
  readonly module: ThreadedWasmExports;
  private readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];

  constructor(size: number) {
    const mod = threadedModule();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    this.module = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as ThreadedWasmExports;
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + size * (MAX_ARGS + 1))));
    this.size = size;
    for (let index = 1; index < size; index++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: mod, memory, control: this.ctl.buffer, index, names: FUNCTIONS } });
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

  run(fn: PoolFunction, args: number[][]): void {
    const { ctl } = this;
    if (args.length > this.size) throw new Error(`simdPool.ts: ${args.length} ranges for ${this.size} threads`);
    ctl[FN] = FUNCTIONS.indexOf(fn);
    for (let i = 1; i < this.size; i++) {
      const slot = SLOTS + i * (MAX_ARGS + 1);
      const a = args[i] ?? [];
      ctl[slot] = a.length;
      for (let k = 0; k < a.length; k++) ctl[slot + 1 + k] = a[k];
    }
    Atomics.store(ctl, ERROR, 0);
    Atomics.store(ctl, PENDING, this.size - 1);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    let failed: unknown = null;
    try {
      if (args[0]) (this.module[fn] as (...a: number[]) => void)(...args[0]);
    } catch (e) {
      failed = e;
    }
    let p: number;
    while ((p = Atomics.load(ctl, PENDING)) !== 0) {
      // A worker that died (its 'error' event sets ERROR) never counts down: give up on it rather than hang.
      if (Atomics.wait(ctl, PENDING, p, 1000) === 'timed-out' && Atomics.load(ctl, ERROR) !== 0) break;
    }
    if (failed) throw failed;
    if (Atomics.load(ctl, ERROR) !== 0) throw new Error(`simdPool.ts: ${fn} failed in a worker thread`);
  }

  dispose(): void {
    Atomics.store(this.ctl, QUIT, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/**
 * A pool of `threads` threads (0: one per available core), the calling one included, or null when worker threads
 * or shared WebAssembly memory are unavailable here.
 */
export function createNodeSimdPool(threads: number): SimdThreadPool | null {
  const size = threads > 0 ? threads : availableCores();
  if (size <= 1) return null;
  try {
    return new NodeSimdPool(size);
  } catch {
    return null;
  }
}
