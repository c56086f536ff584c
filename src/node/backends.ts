/**
 * The Node loader of optional backend packages (installed by the Node entry, src/node.ts, and the CLI): each is
 * required on demand, never at import. wasm gets its .wasm files' folder from the installed package, and its threaded
 * build when MAMBA_TFJS_WASM_THREADS asks for more than one thread (by default, one per free core: ./cores.ts,
 * ./wasmThreads.ts); webgpu runs through the `webgpu` package (Dawn) when
 * there is no navigator.gpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, BackendPlatform } from '../backend';
import { wasmThreadsFlag } from '../flags';
import { availableCores, freeCores } from './cores';
import { enableWasmThreads } from './wasmThreads';

/** require() that bundlers and tsc leave alone, for optional peers. */
function optionalRequire(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

async function load(name: BackendName): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  try {
    if (name === 'cpu') {
      optionalRequire('@tensorflow/tfjs-backend-cpu'); // comes with @tensorflow/tfjs and with the wasm backend
    } else if (name === 'wasm') {
      const wasm = optionalRequire('@tensorflow/tfjs-backend-wasm') as { setWasmPaths?: (p: string) => void; setThreadsCount?: (n: number) => void };
      const path = optionalRequire('path') as typeof import('path');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths?.(path.join(dir, 'dist') + path.sep);
      // MAMBA_TFJS_WASM_THREADS: 'auto' (default) = one per free core; 1 = the single-threaded build (tfjs's own
      // choice in Node); 0 = one per core.
      const flag = wasmThreadsFlag();
      const threads = flag === 'auto' ? await freeCores() : flag || availableCores();
      if (threads > 1) enableWasmThreads(wasm, threads);
    } else if (name === 'webgpu') {
      const g = globalThis as { navigator?: { gpu?: unknown } };
      if (!g.navigator?.gpu) {
        const { create, globals } = optionalRequire('webgpu') as { create: (o: string[]) => unknown; globals: object };
        Object.assign(globalThis, globals);
        Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
      }
      optionalRequire('@tensorflow/tfjs-backend-webgpu');
    } else if (name === 'webgl') {
      optionalRequire('@tensorflow/tfjs-backend-webgl'); // needs a WebGL context: in Node, only with a headless GL
    } else if (name === 'tensorflow') {
      try {
        optionalRequire('@tensorflow/tfjs-node-gpu');
      } catch {
        optionalRequire('@tensorflow/tfjs-node');
      }
    }
  } catch (e) {
    const pkg = { webgl: '@tensorflow/tfjs-backend-webgl (or @tensorflow/tfjs)', cpu: '@tensorflow/tfjs-backend-cpu (or @tensorflow/tfjs)', wasm: '@tensorflow/tfjs-backend-wasm', webgpu: '@tensorflow/tfjs-backend-webgpu and webgpu', tensorflow: '@tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu' }[name];
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

/** Package whose presence makes each backend available. */
const PACKAGES: Record<BackendName, string[]> = {
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  webgl: ['@tensorflow/tfjs-backend-webgl'],
  webgpu: ['@tensorflow/tfjs-backend-webgpu'],
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
};

/** Optional packages required on demand. */
export const nodeBackends: BackendPlatform = {
  load,
  available: (name) => PACKAGES[name].some(installed),
};
