/**
 * The backend for tests that run long chains of small tfjs ops.
 *
 * Under jest every test file runs in a vm context, where each global lookup (`new Array`, `Math`) goes through an
 * interceptor: tfjs's pure-JS cpu kernels (Transpose, Multiply, Slice) run 15–20× slower there than in plain Node
 * (measured: ten transposes of a (2, 37, 128, 16) tensor, 4.5 s under jest vs 0.3 s in Node). The wasm backend runs
 * those kernels natively, so parity tests of whole models use it; the cpu backend keeps the tests of our own JS
 * kernels.
 */
import * as tf from '@tensorflow/tfjs';

/** Switch to the wasm backend (loading it on first use); throws when it does not initialize. */
export async function useWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error(`wasm backend failed to initialize, got '${tf.getBackend()}'`);
}
