/**
 * Backend choice: cpu (pure tfjs), wasm (the default where @tensorflow/tfjs-backend-wasm is available, see
 * defaultBackend), webgl, webgpu, or tensorflow (tfjs-node / tfjs-node-gpu where the user installed one).
 *
 * How a backend gets registered depends on the platform: in a browser (or any bundle) the app imports the backend
 * packages it wants (and, for wasm, calls setWasmPaths first), and selectBackend only activates one; in Node the
 * package's Node entry installs a loader (src/node/backends.ts) that requires optional packages on demand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerKernels } from './ops/kernels/register';
import { backendFlag } from './flags';
import { quietCpuBanner } from './cpuBanner';
import { installBindGroupCache } from './ops/kernels/webgpu/bindGroupCache';

/** A backend selectBackend accepts. */
export type BackendName = 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tensorflow';
/** Every backend name selectBackend accepts. */
export const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'];

/** How backends reach tfjs's registry on this platform. */
export interface BackendPlatform {
  /** Registers backend `name` with tfjs (no-op when registered); throws one line naming what to install. */
  load(name: BackendName): Promise<void>;
  /** Whether backend `name` can be loaded without an error. */
  available(name: BackendName): boolean;
}

/** Browsers and bundles: only the backends the app imported. */
const registeredOnly: BackendPlatform = {
  async load(name) {
    if (tf.findBackendFactory(name)) return;
    const pkg = name === 'tensorflow' ? '@tensorflow/tfjs-node' : `@tensorflow/tfjs-backend-${name}`;
    throw new Error(`backend '${name}' is not registered: import '${pkg}' before selectBackend('${name}')` +
      (name === 'wasm' ? ' (and call its setWasmPaths if the .wasm files are not served beside the page)' : ''));
  },
  available: (name) => tf.findBackendFactory(name) != null,
};

let platform: BackendPlatform = registeredOnly;

/** Installs how backends are loaded (the Node entry installs one that requires the optional packages). */
export function setBackendPlatform(p: BackendPlatform): void {
  platform = p;
}

/** Whether backend `name` is registered or can be loaded on this platform. */
export function backendAvailable(name: BackendName): boolean {
  return tf.findBackendFactory(name) != null || platform.available(name);
}

/**
 * The backend used when none is named: 'wasm' when @tensorflow/tfjs-backend-wasm is available (installed in
 * Node, imported in a browser) — the faster CPU
 * backend for training (benchmarks/: a train step of Mamba(64, 2) at L 256 runs several times faster than on
 * 'cpu', whose matmul is plain JavaScript) — else 'cpu'.
 */
export function defaultBackend(): BackendName {
  return backendAvailable('wasm') ? 'wasm' : 'cpu';
}

/**
 * Make a backend active. name: an argument, else the flag MAMBA_TFJS_BACKEND, else defaultBackend().
 * @returns the active backend's name
 */
export async function selectBackend(name?: string): Promise<BackendName> {
  const chosen = (name || backendFlag() || defaultBackend()) as BackendName;
  if (!BACKENDS.includes(chosen)) {
    throw new Error(`unknown backend '${chosen}': expected one of ${BACKENDS.join(', ')}`);
  }
  quietCpuBanner(); // tfjs's "install tfjs-node" notice: this package runs on pure tfjs on purpose
  await platform.load(chosen);
  registerKernels(); // again, after the backend's package registered its own kernels (segmentSum, wasm fixes replace some)
  const ok = await tf.setBackend(chosen);
  if (!ok) throw new Error(`backend '${chosen}' failed to initialize`);
  await tf.ready();
  if (chosen === 'webgpu') installBindGroupCache(); // also from the fused scan kernels, for tf.setBackend('webgpu')
  return chosen;
}
