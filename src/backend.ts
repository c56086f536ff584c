/**
 * Backend choice: cpu (pure tfjs), wasm (the default when @tensorflow/tfjs-backend-wasm is installed, see
 * defaultBackend), webgpu, or tensorflow (tfjs-node / tfjs-node-gpu when the user installed one). Optional packages
 * are loaded dynamically and never required.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerKernels } from './ops/kernels/register';
import { backendFlag } from './flags';
import { quietCpuBanner } from './cpuBanner';

export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';
export const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu', 'tensorflow'];

/** require() that bundlers and tsc leave alone, for optional peers. */
function optionalRequire(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

async function register(name: BackendName): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  try {
    if (name === 'cpu') {
      optionalRequire('@tensorflow/tfjs-backend-cpu'); // comes with @tensorflow/tfjs and with the wasm backend
    } else if (name === 'wasm') {
      const wasm = optionalRequire('@tensorflow/tfjs-backend-wasm') as { setWasmPaths?: (p: string) => void };
      const path = optionalRequire('path') as typeof import('path');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths?.(path.join(dir, 'dist') + path.sep);
    } else if (name === 'webgpu') {
      const g = globalThis as { navigator?: { gpu?: unknown } };
      if (!g.navigator?.gpu) {
        const { create, globals } = optionalRequire('webgpu') as { create: (o: string[]) => unknown; globals: object };
        Object.assign(globalThis, globals);
        Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
      }
      optionalRequire('@tensorflow/tfjs-backend-webgpu');
    } else if (name === 'tensorflow') {
      try {
        optionalRequire('@tensorflow/tfjs-node-gpu');
      } catch {
        optionalRequire('@tensorflow/tfjs-node');
      }
    }
  } catch (e) {
    const pkg = { cpu: '@tensorflow/tfjs-backend-cpu (or @tensorflow/tfjs)', wasm: '@tensorflow/tfjs-backend-wasm', webgpu: '@tensorflow/tfjs-backend-webgpu and webgpu', tensorflow: '@tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu' }[name];
    throw new Error(`backend '${name}' needs ${pkg} installed (optional peer dependency): ${(e as Error).message}`);
  }
}

/** Whether an optional package can be loaded. */
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * The backend used when none is named: 'wasm' when @tensorflow/tfjs-backend-wasm is installed — the faster CPU
 * backend for training (benchmarks/: a train step of Mamba(64, 2) at L 256 runs several times faster than on
 * 'cpu', whose matmul is plain JavaScript) — else 'cpu'.
 */
export function defaultBackend(): BackendName {
  return installed('@tensorflow/tfjs-backend-wasm') ? 'wasm' : 'cpu';
}

/**
 * Make a backend active. name: an argument, else $MAMBA_TFJS_BACKEND, else defaultBackend().
 * @returns the active backend's name
 */
export async function selectBackend(name?: string): Promise<BackendName> {
  const chosen = (name || backendFlag() || defaultBackend()) as BackendName;
  if (!BACKENDS.includes(chosen)) {
    throw new Error(`unknown backend '${chosen}': expected one of ${BACKENDS.join(', ')}`);
  }
  quietCpuBanner(); // tfjs's "install tfjs-node" notice: this package runs on pure tfjs on purpose
  await register(chosen);
  registerKernels(); // again, after the backend's package registered its own kernels (segmentSum, wasm fixes replace some)
  const ok = await tf.setBackend(chosen);
  if (!ok) throw new Error(`backend '${chosen}' failed to initialize`);
  await tf.ready();
  return chosen;
}
