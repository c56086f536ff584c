/**
 * tfjs's threaded wasm build (tfjs-backend-wasm-threaded-simd.wasm: XNNPACK over a pthreads pool) made to run in
 * Node. tfjs 4.22 turns it off there (the flag WASM_HAS_MULTITHREAD_SUPPORT is false under IS_NODE, tfjs issue
 * #3830). Three obstacles, each worked around here while the backend initializes:
 *  1. Its pthread workers are created from a blob: URL, which Node's worker_threads does not load: the Worker
 *     class is replaced by one that runs the same worker program (wasm-out/…-threaded-simd.worker.js) with eval
 *     (Emscripten keeps that class for the workers it starts later, and its ref() holds no reference: a pthread of
 *     XNNPACK's pool never ends, and would keep the process alive).
 *  2. Each worker then loads the Emscripten glue from a Blob: the 'load' message is pointed at the glue's file
 *     (wasm-out/tfjs-backend-wasm-threaded-simd.js) instead.
 *  3. The thread count is capped at half the logical cores (it assumes two hyperthreads per core): os.cpus() reports
 *     twice the wanted count while the module starts.
 * The thread count is tfjs's setThreadsCount (MAMBA_TFJS_WASM_THREADS: by default 'auto', one per core that other
 * jobs leave free when the backend starts (./cores.ts; on a busy machine 1, the single-threaded build: README,
 * "Threads (Node)", says why); 0 = one per available core). Emscripten starts its pool of 8 workers
 * whatever the count. If the threaded build fails to start, the single-threaded one starts instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'path';
import type * as WorkerThreads from 'worker_threads';

// The modules themselves (not import * copies, whose members are read-only getters): their members are swapped below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const workerThreads = require('worker_threads') as { Worker: typeof WorkerThreads.Worker };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const os = require('os') as { cpus: () => unknown[] };

/** The parts of @tensorflow/tfjs-backend-wasm used here. */
interface WasmPackage {
  setThreadsCount?: (n: number) => void;
  getThreadsCount?: () => number;
}

/** The Worker class with blob: URLs of tfjs's pthread program replaced (reasons 1 and 2 above). */
function patchedWorker(Base: typeof WorkerThreads.Worker, workerSource: string, glue: string): typeof WorkerThreads.Worker {
  // The program's string literals hold "\n" escapes that the module's template literal turned into newlines.
  const program = workerSource.replace(/\n/g, '\\n');
  return class extends Base {
    private readonly pthread: boolean;
    constructor(file: string | URL, options?: WorkerThreads.WorkerOptions) {
      const blob = typeof file === 'string' && file.startsWith('blob:');
      super(blob ? program : file, blob ? { ...options, eval: true } : options);
      this.pthread = blob;
    }
    /** Emscripten refs a worker while it runs a pthread; XNNPACK's never end, so they would hold the process open. */
    ref(): void {
      if (!this.pthread) super.ref();
    }
    postMessage(message: unknown, transfer?: readonly WorkerThreads.TransferListItem[]): void {
      const m = message as { cmd?: string } | null;
      super.postMessage(this.pthread && m?.cmd === 'load' ? { ...m, urlOrBlob: glue } : message, transfer);
    }
  };
}

/**
 * Makes the next initialization of the wasm backend (tf.setBackend('wasm')) load the threaded build with
 * `threads` threads (> 1). Call after requiring the package, before the backend is first set. Returns false (and
 * changes nothing) when the package's files for it are missing.
 */
export function enableWasmThreads(wasm: WasmPackage, threads: number): boolean {
  const factory = tf.findBackendFactory('wasm');
  if (threads <= 1 || factory == null || typeof wasm.setThreadsCount !== 'function') return false;
  let dir: string;
  let workerSource: string;
  try {
    dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    workerSource = (require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents;
  } catch {
    return false;
  }
  const glue = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    const [Worker, cpus] = [workerThreads.Worker, os.cpus];
    workerThreads.Worker = patchedWorker(Worker, workerSource, glue);
    os.cpus = () => Array.from({ length: 2 * threads }, () => cpus()[0]);
    try {
      return await factory();
    } catch {
      // The threaded build did not start here: the single-threaded one instead.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      return await factory();
    } finally {
      workerThreads.Worker = Worker;
      os.cpus = cpus;
    }
  }, 2); // tfjs-backend-wasm's priority
  return true;
}

/** Threads of the active wasm backend's XNNPACK pool (1 when single-threaded or not initialized). */
export function wasmThreadsCount(wasm: WasmPackage): number {
  try {
    return wasm.getThreadsCount?.() ?? 1;
  } catch {
    return 1;
  }
}
