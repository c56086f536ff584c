/**
 * What the Node side needs before it runs: every kernel registered, the `file://` save/load handler (pure tfjs
 * has none in Node), the backend loader that requires optional backend packages, and the worker pools of the SIMD
 * kernels (src/node/simdPool.ts: the kernel pool, and the heap pool of tfjs's threaded wasm build). Called by the Node entry
 * (src/node.ts) and by the CLI; idempotent.
 */
import { setBackendPlatform } from '../backend';
import { registerFileSystemHandler } from '../io/tfjs/fsHandler';
import { registerKernels } from '../ops/kernels/register';
import { nodeBackends } from './backends';
import { setHeapThreadPoolFactory, setSimdThreadPoolFactory } from '../ops/kernels/simd/pool';
import { createNodeHeapPool, createNodeSimdPool } from './simdPool';

let poolInstalled = false;

/**
 * Registers the kernels and the file:// handler, and installs the Node backend loader and the SIMD kernels' worker
 * pool (started on first use; MAMBA_TFJS_THREADS sets its size). Idempotent.
 */
export function setupNode(): void {
  registerKernels();
  registerFileSystemHandler();
  setBackendPlatform(nodeBackends);
  if (!poolInstalled) {
    setSimdThreadPoolFactory(createNodeSimdPool);
    setHeapThreadPoolFactory(createNodeHeapPool);
  }
  poolInstalled = true;
}
