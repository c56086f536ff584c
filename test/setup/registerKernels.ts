/**
 * Jest setup (jest.config.js setupFiles): what a program does with the package — load tfjs (its backends register
 * their kernels), then import the package entry, which calls registerKernels() once — for the suites that import
 * src/ modules directly rather than the entry. The order matters for UnsortedSegmentSum, which replaces
 * tfjs-backend-cpu's kernel of that name.
 */
import '@tensorflow/tfjs';
import { setupNode } from '../../src/node/setup';

// The suite runs on one thread per jest worker (the jest workers already take the cores), whatever the machine's
// load; the tests of the worker pool and of tfjs's threaded build (test/wasmThreads.test.ts) set the counts themselves.
process.env.MAMBA_TFJS_THREADS ??= '1';
process.env.MAMBA_TFJS_WASM_THREADS ??= '1';
setupNode(); // as the Node entry (src/node.ts) does: kernels, the file:// handler, the backend loader
