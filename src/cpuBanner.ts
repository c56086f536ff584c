/**
 * tfjs's cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js. To speed things up
 * dramatically, install our node backend…" on the first tensor it stores (MathBackendCPU.write, once per backend
 * instance, when the IS_NODE flag is set), through tfjs's `warn`, which prints unless the PROD or IS_TEST flag is
 * set. This package runs on pure tfjs on purpose (and hints at the wasm backend itself, training/cpuHint.ts), so
 * where it chooses the backend it lets that first write happen with PROD set for the moment: the banner is spent
 * silently, and every other tfjs warning still prints.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Spends the cpu backend's one-time Node.js banner without printing it. Does nothing when the cpu backend is not
 * registered (it comes with @tensorflow/tfjs or @tensorflow/tfjs-backend-cpu) or was already used.
 */
export function quietCpuBanner(): void {
  if (!tf.findBackendFactory('cpu')) return;
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    const cpu = tf.findBackend('cpu'); // initializes the backend if needed; does not make it active
    if (cpu) cpu.disposeData(cpu.write(new Float32Array(1), [1], 'float32'));
  } finally {
    env.set('PROD', prod);
  }
}
