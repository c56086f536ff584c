/**
 * A world model: a Mamba learns the dynamics of a tiny grid game from played episodes, then "dreams" an
 * episode by feeding its own predictions back in. (mamba.py's world-model example, re-imagined small.)
 *
 * The game (examples/lib/gridGame.ts): an agent on a 3×3 grid; actions up, down, left, right; walls stop it.
 * At every step the model sees [state_t, action_t] (one-hot, 13 features) and predicts state_{t+1}, a
 * categorical over the 9 cells:
 *
 *   dense(13 → D) → Mamba(D, nLayers) → dense(D → 9, softmax)         (batch, L, ·) all the way
 *
 * Trained with model.fit on categorical cross-entropy; reports the next-state accuracy on fresh episodes
 * (chance: 1/9).
 *
 *   node examples/run.js worldModel [--episodes 512] [--length 16] [--epochs 12] [--batch 32] [--d-model 16]
 *     [--layers 1] [--lr 0.01] [--seed 1] [--backend cpu|wasm|webgpu|tensorflow]
 */
import * as tf from '@tensorflow/tfjs';
import { mambaLayer, selectBackend } from '../src/node';
import { Rng } from '../src/tasks/rng';
import { readFlags } from './lib/flags';
import { ACTIONS, CELLS, FEATURES, drawGrid, nextCell, play, toTensors } from './lib/gridGame';

/** The world model: (batch, L, 13) → next-cell probabilities (batch, L, 9). */
function buildModel(dModel: number, nLayers: number, lr: number, seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: dModel, inputShape: [null, FEATURES], kernelInitializer: tf.initializers.glorotUniform({ seed }) })); // (B, L, D)
  model.add(mambaLayer({ dModel, nLayers, seed })); // (B, L, D)
  model.add(tf.layers.dense({ units: CELLS, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })); // (B, L, 9)
  model.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Fraction of steps of `count` fresh episodes whose most likely predicted cell is the true next cell. */
async function nextStateAccuracy(model: tf.Sequential, rng: Rng, count: number, length: number): Promise<number> {
  const { inputs, targets } = toTensors(play(rng, count, length));
  const acc = tf.tidy(() => {
    const probs = model.predict(inputs) as tf.Tensor3D; // (count, L, 9)
    const hit = tf.equal(tf.argMax(probs, -1), tf.argMax(targets, -1)); // (count, L)
    return tf.mean(tf.cast(hit, 'float32')); // ()
  });
  const value = (await acc.data())[0];
  tf.dispose([inputs, targets, acc]);
  return value;
}

/**
 * Dream an episode: from a start cell and a list of actions, the model predicts each next cell from its own
 * previous predictions (never seeing the real game after the start). Prints the dream beside the real game.
 * @returns how many dreamed cells equal the real ones
 */
function dream(model: tf.Sequential, start: number, actions: number[]): number {
  const dreamed: number[] = [start];
  const real: number[] = [start];
  for (let t = 0; t < actions.length; t++) {
    const x = new Float32Array((t + 1) * FEATURES);
    for (let s = 0; s <= t; s++) {
      x[s * FEATURES + dreamed[s]] = 1;
      x[s * FEATURES + CELLS + actions[s]] = 1;
    }
    const next = tf.tidy(() => {
      const probs = model.predict(tf.tensor3d(x, [1, t + 1, FEATURES])) as tf.Tensor3D; // (1, t+1, 9)
      const last = tf.slice(probs, [0, t, 0], [1, 1, CELLS]); // (1, 1, 9)
      return tf.argMax(tf.reshape(last, [CELLS])).dataSync()[0]; // the most likely next cell
    });
    dreamed.push(next);
    real.push(nextCell(real[t], actions[t]));
  }
  console.log('dreamed episode (model) vs the real game:');
  for (let t = 0; t < actions.length; t++) {
    const mark = dreamed[t + 1] === real[t + 1] ? 'ok' : 'WRONG';
    const [d, r] = [drawGrid(dreamed[t + 1]), drawGrid(real[t + 1])];
    console.log(`  step ${t + 1}: ${ACTIONS[actions[t]].padEnd(5)}  dream ${d.join(' | ')}   real ${r.join(' | ')}   ${mark}`);
  }
  return dreamed.slice(1).filter((c, i) => c === real[i + 1]).length;
}

async function main(): Promise<void> {
  const flags = readFlags(['episodes', 'length', 'epochs', 'batch', 'd-model', 'layers', 'lr', 'seed', 'backend']);
  const episodes = flags.num('episodes', 512);
  const length = flags.num('length', 16);
  const epochs = flags.num('epochs', 12);
  const seed = flags.num('seed', 1);
  const backend = await selectBackend(flags.opt('backend'));
  console.log(`backend ${backend}; ${episodes} episodes of ${length} steps on a 3×3 grid, ${epochs} epochs`);

  const rng = new Rng(seed);
  const model = buildModel(flags.num('d-model', 16), flags.num('layers', 1), flags.num('lr', 0.01), seed);
  const { inputs, targets } = toTensors(play(rng, episodes, length)); // (E, L, 13), (E, L, 9)
  const before = await nextStateAccuracy(model, rng.fork(), 128, length);
  console.log(`next-state accuracy before training: ${(100 * before).toFixed(1)}% (chance ${(100 / CELLS).toFixed(1)}%)`);
  const started = Date.now();
  await model.fit(inputs, targets, {
    epochs,
    batchSize: flags.num('batch', 32),
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        const acc = logs?.acc ?? logs?.accuracy ?? NaN;
        console.log(`epoch ${epoch + 1}/${epochs}: loss ${logs?.loss.toFixed(4)}, train accuracy ${(100 * acc).toFixed(1)}%`);
      },
    },
  });
  tf.dispose([inputs, targets]);
  const after = await nextStateAccuracy(model, rng.fork(), 128, length);
  console.log(`trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`next-state accuracy on 128 fresh episodes: ${(100 * after).toFixed(1)}% (chance ${(100 / CELLS).toFixed(1)}%)`);

  const actions = Array.from({ length: 8 }, () => rng.int(ACTIONS.length));
  const right = dream(model, rng.int(CELLS), actions);
  console.log(`dream: ${right}/${actions.length} steps equal the real game`);
  model.dispose();
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
