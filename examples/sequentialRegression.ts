/**
 * Sequence regression with tf.sequential: a Mamba stack between two dense layers learns the running mean
 * of a noisy signal, y_t = (x_0 + … + x_t) / (t + 1). Every output depends on the whole past, so the model
 * has to carry a summary of it in its state; a per-step (dense-only) model can do no better than guess.
 *
 *   dense(1 → D) → Mamba(D, nLayers) → dense(D → 1)          (batch, L, ·) all the way
 *
 *   node examples/run.js sequentialRegression [--sequences 256] [--length 64] [--epochs 15] [--batch 32]
 *     [--d-model 16] [--layers 2] [--lr 0.01] [--seed 1] [--backend cpu|wasm|webgpu|tensorflow]
 */
import * as tf from '@tensorflow/tfjs';
import { mambaLayer, selectBackend } from '../src/node';
import { Rng } from '../src/tasks/rng';
import { readFlags } from './lib/flags';

/** A standard normal draw (Box–Muller). */
function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * `count` noisy signals of `length` steps — a sine of random frequency, phase, offset and amplitude plus
 * Gaussian noise — and their running means.
 * @returns x (count, L, 1) and y (count, L, 1); the caller disposes them
 */
function makeData(rng: Rng, count: number, length: number): { x: tf.Tensor3D; y: tf.Tensor3D } {
  const x = new Float32Array(count * length);
  const y = new Float32Array(count * length);
  for (let i = 0; i < count; i++) {
    const [freq, phase] = [0.05 + 0.3 * rng.next(), 2 * Math.PI * rng.next()];
    const [offset, amp] = [2 * rng.next() - 1, 0.5 + rng.next()];
    let sum = 0;
    for (let t = 0; t < length; t++) {
      const v = offset + amp * Math.sin(freq * t + phase) + 0.3 * gaussian(rng);
      sum += v;
      x[i * length + t] = v;
      y[i * length + t] = sum / (t + 1);
    }
  }
  return { x: tf.tensor3d(x, [count, length, 1]), y: tf.tensor3d(y, [count, length, 1]) }; // (count, L, 1) each
}

/** Mean squared error of always predicting the mean target (the loss a model without inputs reaches). */
function baselineMse(y: tf.Tensor3D): number {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(y, tf.mean(y)))).dataSync()[0]);
}

async function main(): Promise<void> {
  const flags = readFlags(['sequences', 'length', 'epochs', 'batch', 'd-model', 'layers', 'lr', 'seed', 'backend']);
  const [count, length, epochs] = [flags.num('sequences', 256), flags.num('length', 64), flags.num('epochs', 15)];
  const [dModel, seed] = [flags.num('d-model', 16), flags.num('seed', 1)];
  const backend = await selectBackend(flags.opt('backend'));
  console.log(`backend ${backend}; ${count} sequences of ${length} steps, target: the running mean of the input`);

  const rng = new Rng(seed);
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: dModel, inputShape: [null, 1], kernelInitializer: tf.initializers.glorotUniform({ seed }) })); // (B, L, D)
  model.add(mambaLayer({ dModel, nLayers: flags.num('layers', 2), seed })); // (B, L, D)
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })); // (B, L, 1)
  model.compile({ optimizer: tf.train.adam(flags.num('lr', 0.01)), loss: 'meanSquaredError' });

  const train = makeData(rng, count, length);
  const val = makeData(rng, Math.max(32, count / 4), length);
  console.log(`baseline (predict the mean): val MSE ${baselineMse(val.y).toFixed(4)}`);
  const started = Date.now();
  await model.fit(train.x, train.y, {
    epochs,
    batchSize: flags.num('batch', 32),
    validationData: [val.x, val.y],
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        console.log(`epoch ${epoch + 1}/${epochs}: loss ${logs?.loss.toFixed(4)}, val_loss ${logs?.val_loss.toFixed(4)}`);
      },
    },
  });
  console.log(`trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // One validation sequence, a few steps: input, target, prediction.
  const pred = tf.tidy(() => model.predict(tf.slice(val.x, [0, 0, 0], [1, length, 1])) as tf.Tensor3D); // (1, L, 1)
  const [xs, ys, ps] = [val.x, val.y, pred].map((t) => t.dataSync());
  const steps = [0, 1, 2, 4, 8, 16, 32, 63].filter((t) => t < length);
  console.log('   t   input  running mean  prediction');
  for (const t of steps) console.log(`${String(t).padStart(4)} ${xs[t].toFixed(3).padStart(7)} ${ys[t].toFixed(3).padStart(13)} ${ps[t].toFixed(3).padStart(11)}`);
  tf.dispose([train.x, train.y, val.x, val.y, pred]);
  model.dispose();
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
