/**
 * Jest setup (jest.config.js setupFiles): what a program does with the package — load tfjs (its backends register
 * their kernels), then import the package entry, which calls registerKernels() once — for the suites that import
 * src/ modules directly rather than the entry. The order matters for UnsortedSegmentSum, which replaces
 * tfjs-backend-cpu's kernel of that name.
 */
import '@tensorflow/tfjs';
import { registerKernels } from '../../src/ops/kernels/register';
import { setBackendPlatform } from '../../src/backend';
import { nodeBackends } from '../../src/node/backends';

registerKernels();
setBackendPlatform(nodeBackends); // as the Node entry (src/node.ts) does
