/**
 * Browser side of benchmarks/browser/run.ts (also bundled for Node by it): the train step of Mamba(64, 2 layers,
 * dState 16), B 4, L 256 (benchmarks/trainStep.js's setting: mean-square loss, Adam) and greedy decode tokens/s of a
 * small MambaLM (vocab 1000, dModel 64, 2 layers; 8-token prompt, 64 new tokens).
 */
import * as tf from '@tensorflow/tfjs';
import { mambaLayer, createMambaLM } from '../../src/layers/factories';
import { generate } from '../../src/generation/generate';
import { selectBackend } from '../../src/backend';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of `reps` train steps after one warm-up. */
export async function trainStepMs(reps: number): Promise<number> {
  const layer = mambaLayer({ dModel: 64, nLayers: 2, dState: 16, scanMode: 'auto', seed: 1 });
  const x = tf.randomNormal([4, 256, 64], 0, 1, 'float32', 7); // (B, L, D)
  tf.dispose(tf.tidy(() => layer.apply(x) as tf.Tensor)); // builds the weights
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tf.train.adam(1e-3);
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const cost = opt.minimize(() => tf.mean(tf.square(layer.call(x, {}) as tf.Tensor)) as tf.Scalar, true, vars) as tf.Scalar;
    await cost.data();
    cost.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  opt.dispose();
  x.dispose();
  layer.dispose();
  return median(times);
}

/** Greedy decode tokens/s (median of `reps` runs after one warm-up). */
export async function decodeTokensPerS(reps: number): Promise<number> {
  const model = createMambaLM({ vocabSize: 1000, dModel: 64, nLayers: 2, seed: 1 });
  const prompt = [[5, 17, 42, 7, 99, 3, 250, 11]];
  const rates: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    await generate(model, prompt, { maxNewTokens: 64, temperature: 'greedy' });
    if (i > 0) rates.push(64 / ((performance.now() - t0) / 1000));
  }
  model.dispose();
  return median(rates);
}

/** Both figures on one backend, as JSON. */
export async function bench(backend: string, reps: number, train: boolean): Promise<string> {
  await selectBackend(backend);
  const trainMs = train ? await trainStepMs(reps) : null;
  return JSON.stringify({ backend: tf.getBackend(), trainMs, decodeTokS: await decodeTokensPerS(reps) });
}

if (typeof window !== 'undefined') {
  void import('@tensorflow/tfjs-backend-wasm').then(({ setWasmPaths }) => {
    setWasmPaths('/wasm/');
    return import('@tensorflow/tfjs-backend-webgpu');
  }).then(() => Object.assign(globalThis, { benchPage: { bench }, harnessReady: true }));
}
