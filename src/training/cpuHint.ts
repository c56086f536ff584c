/**
 * One hint per process when a Mamba model trains on the 'cpu' backend while @tensorflow/tfjs-backend-wasm is not
 * installed: tfjs's cpu backend is plain JavaScript, and a train step there was ~20x slower than on 'wasm' (issue
 * #13: 731 against ~16 000 tokens/s), which nothing else tells the user.
 *
 * Called from Mamba.call: training is a call with `training: true` (model.fit, the CLI's train step) or one under
 * a gradient tape (tf.variableGrads / optimizer.minimize in a custom loop).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendAvailable } from '../backend';

/** The hint's text. */
export const CPU_TRAINING_HINT =
  "mamba-tfjs: training on tfjs's 'cpu' backend (plain JavaScript, about 20x slower than 'wasm' for Mamba). " +
  "Install @tensorflow/tfjs-backend-wasm and call selectBackend('wasm') (or set MAMBA_TFJS_BACKEND=wasm).";

/** Whether @tensorflow/tfjs-backend-wasm can be loaded (installed in Node, imported in a browser). */
export function wasmInstalled(): boolean {
  return backendAvailable('wasm');
}

/** The hint for a model training on `backend`, or null when none is due. */
export function cpuTrainingHint(backend: string, hasWasm: () => boolean = wasmInstalled): string | null {
  return backend === 'cpu' && !hasWasm() ? CPU_TRAINING_HINT : null;
}

let hinted = false;

/**
 * Prints the hint (console.warn) the first time a model trains on 'cpu' without the wasm package; afterwards
 * does nothing. Costs a flag check per call.
 * @param training the layer call's `training` flag
 */
export function noteTrainingCall(training: unknown): void {
  if (hinted) return;
  if (training !== true && tf.engine().state.gradientDepth === 0) return;
  hinted = true; // once per process, whether or not it was due: the backend rarely changes mid-training
  const hint = cpuTrainingHint(tf.getBackend());
  if (hint) console.warn(hint);
}
