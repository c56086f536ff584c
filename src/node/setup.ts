/**
 * What the Node side needs before it runs: every kernel registered, the `file://` save/load handler (pure tfjs
 * has none in Node), and the backend loader that requires optional backend packages. Called by the Node entry
 * (src/node.ts) and by the CLI; idempotent.
 */
import { setBackendPlatform } from '../backend';
import { registerFileSystemHandler } from '../io/tfjs/fsHandler';
import { registerKernels } from '../ops/kernels/register';
import { nodeBackends } from './backends';

/** Registers the kernels and the file:// handler, and installs the Node backend loader. Idempotent. */
export function setupNode(): void {
  registerKernels();
  registerFileSystemHandler();
  setBackendPlatform(nodeBackends);
}
