/**
 * Training checkpoints: the model (`model.json` + weights, through the `file://` handler), Adam's
 * slots (`optimizer.bin`) and a small `train-state.json` (step, data-stream state, options, curves)
 * that `--resume` continues from. The state file is written last, so it only ever points at a
 * complete model and optimizer.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomicSync } from '../io/files';
import type { EvalResult } from './evaluate';
import type { TrainOptions } from './trainOptions';

/** File names inside a checkpoint folder. */
export const STATE_FILE = 'train-state.json';
export const OPTIMIZER_FILE = 'optimizer.bin';
export const MODEL_FILE = 'model.json';

/** Curves recorded during training. */
export interface TrainHistory {
  train: { step: number[]; loss: number[]; accuracy: number[] };
  val: { step: number[]; loss: number[]; accuracy: number[]; seqAccuracy: number[] };
}

/** Shape and dtype of one saved optimizer slot. */
export interface SlotSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** Contents of train-state.json. */
export interface TrainState {
  format: 'mamba-tfjs-train-state';
  version: 1;
  /** Optimizer steps done. */
  step: number;
  /** State of the training data stream's Rng after `step` batches. */
  rngState: number;
  options: TrainOptions;
  history: TrainHistory;
  /** The optimizer slots stored in optimizer.bin, in order. */
  optimizerSlots: SlotSpec[];
  /** Seconds of training so far, over all sessions. */
  trainSeconds: number;
  /** Latest validation, if any. */
  lastEval?: EvalResult;
  savedAt: string;
}

/** An empty history. */
export function emptyHistory(): TrainHistory {
  return { train: { step: [], loss: [], accuracy: [] }, val: { step: [], loss: [], accuracy: [], seqAccuracy: [] } };
}

/** Writes the optimizer's slots to one binary file; returns their specs. */
async function saveOptimizer(file: string, optimizer: tf.Optimizer): Promise<SlotSpec[]> {
  const named = await optimizer.getWeights();
  const specs: SlotSpec[] = [];
  const parts: Uint8Array[] = [];
  for (const { name, tensor } of named) {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') {
      throw new Error(`optimizer slot ${name}: expected float32 or int32, got ${tensor.dtype}`);
    }
    const data = (await tensor.data()) as Float32Array | Int32Array;
    specs.push({ name, shape: tensor.shape, dtype: tensor.dtype });
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!(tensor instanceof tf.Variable)) tensor.dispose(); // e.g. the iteration count; slots are the optimizer's own
  }
  writeFileAtomicSync(file, Buffer.concat(parts));
  return specs;
}

/** Restores slots saved by {@link saveOptimizer} into a fresh optimizer of the same kind. */
async function loadOptimizer(file: string, specs: SlotSpec[], optimizer: tf.Optimizer): Promise<void> {
  if (specs.length === 0) return;
  const buf = fs.readFileSync(file);
  const want = specs.reduce((a, s) => a + 4 * s.shape.reduce((p, d) => p * d, 1), 0);
  if (buf.length !== want) throw new Error(`${file}: expected ${want} bytes for ${specs.length} optimizer slots, got ${buf.length}`);
  const copy = new Uint8Array(buf).buffer; // aligned
  let off = 0;
  const named: Array<{ name: string; tensor: tf.Tensor }> = specs.map((s) => {
    const n = s.shape.reduce((p, d) => p * d, 1);
    const data = s.dtype === 'int32' ? new Int32Array(copy, off, n) : new Float32Array(copy, off, n);
    off += 4 * n;
    return { name: s.name, tensor: tf.tensor(data, s.shape, s.dtype) };
  });
  await optimizer.setWeights(named);
  tf.dispose(named.map((w) => w.tensor));
}

/** JSON with one top-level field per line and each value compact (the curves stay a few lines long). */
function stateJson(state: TrainState): string {
  const fields = Object.entries(state)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n${fields.join(',\n')}\n}\n`;
}

/**
 * Saves model, optimizer and state into `dir` (created if needed).
 * @param state everything but optimizerSlots and savedAt, which are filled in here.
 */
export async function saveTrainCheckpoint(
  dir: string,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  state: Omit<TrainState, 'optimizerSlots' | 'savedAt' | 'format' | 'version'>,
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(`file://${path.resolve(dir)}`);
  const optimizerSlots = await saveOptimizer(path.join(dir, OPTIMIZER_FILE), optimizer);
  const full: TrainState = { format: 'mamba-tfjs-train-state', version: 1, ...state, optimizerSlots, savedAt: new Date().toISOString() };
  writeFileAtomicSync(path.join(dir, STATE_FILE), stateJson(full));
}

/** Reads and checks `dir/train-state.json`. */
export function readTrainState(dir: string): TrainState {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) throw new Error(`--resume: expected a checkpoint with ${STATE_FILE} in ${dir}, found none`);
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainState;
  if (s.format !== 'mamba-tfjs-train-state' || s.version !== 1) {
    throw new Error(`${file}: expected format mamba-tfjs-train-state version 1, got ${String(s.format)} version ${String(s.version)}`);
  }
  return s;
}

/** Loads the model of a checkpoint and restores the optimizer's slots into `optimizer`. */
export async function loadTrainCheckpoint(dir: string, state: TrainState, optimizer: tf.Optimizer): Promise<tfl.LayersModel> {
  const model = await tfl.loadLayersModel(`file://${path.resolve(dir, MODEL_FILE)}`);
  await loadOptimizer(path.join(dir, OPTIMIZER_FILE), state.optimizerSlots, optimizer);
  return model;
}
