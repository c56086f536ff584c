/**
 * Running a test body on a given backend.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { SCAN_IMPL_FLAG } from '../../src/flags';
import { loadScanWasm } from '../../src/ops/kernels/simd/module';
import { setEnvFlag } from './flags';

/** Runs `fn` on `backend` (selectBackend: registers wasm / webgpu as needed), then restores the previous backend. */
export async function onBackend<T>(backend: string, fn: () => Promise<T> | T): Promise<T> {
  const prev = tf.getBackend();
  await selectBackend(backend);
  try {
    return await fn();
  } finally {
    await tf.setBackend(prev);
  }
}

/**
 * For suites that test the SIMD module: before all, checks that dist/ops/scan.wasm is built, clears
 * MAMBA_TFJS_SCAN_IMPL (the SIMD path by default), registers the wasm backend and leaves cpu active;
 * after all, restores MAMBA_TFJS_SCAN_IMPL.
 */
export function useScanWasmSuite(): void {
  const saved = process.env[SCAN_IMPL_FLAG];
  beforeAll(async () => {
    setEnvFlag(SCAN_IMPL_FLAG, undefined);
    if (loadScanWasm() == null) throw new Error('the embedded SIMD module (src/ops/kernels/simd/scanWasmBinary.ts) does not load');
    await selectBackend('wasm'); // registers the wasm backend
    await tf.setBackend('cpu');
  });
  afterAll(() => {
    if (saved === undefined) setEnvFlag(SCAN_IMPL_FLAG, undefined);
    else setEnvFlag(SCAN_IMPL_FLAG, saved);
  });
}
