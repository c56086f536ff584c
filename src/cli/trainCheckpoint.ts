/**
 * Training checkpoints: the model (`model.json` + weights, through the `file://` handler), Adam's
 * slots (`optimizer.bin`) and a small `train-state.json` (step, data-stream state, options, curves)
 * that `--resume` continues from.
 *
 * A checkpoint is one step: it is written whole into a staging directory inside the folder, which is renamed to
 * `.ckpt-pending` in one atomic step once complete; its files are then moved into the folder, train-state.json
 * last. A kill before that rename leaves the previous checkpoint untouched; a kill after it is finished on the next
 * start ({@link rollForwardCheckpoint}). train-state.json also records the SHA-256 of every part, checked on
 * `--resume`, so a checkpoint mixed from two steps (by hand, or by an older version's interrupted save) is refused.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { readJsonFileSync, readRegularFileSync } from '../io/regularFile';
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
  /** SHA-256 (hex) of each file of the checkpoint, by name: checked on resume (absent in older checkpoints). */
  parts?: Record<string, string>;
}

/** The staged, complete checkpoint awaiting its move into the folder. */
export const PENDING_DIR = '.ckpt-pending';

/** SHA-256 of a file, hex. */
function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The files of a checkpoint in `dir`: model.json, the weight files it lists, optimizer.bin. */
function partNames(dir: string): string[] {
  const json = readJsonFileSync(path.join(dir, MODEL_FILE), 'a checkpoint model.json') as { weightsManifest?: { paths?: unknown }[] };
  const weights = (json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths : []));
  return [MODEL_FILE, ...weights.filter((p): p is string => typeof p === 'string'), OPTIMIZER_FILE];
}

/**
 * Finishes moving a staged checkpoint (`dir/.ckpt-pending`, complete) into `dir`: its files first, train-state.json
 * last. Idempotent, so a kill during it is finished by the next call.
 */
export function rollForwardCheckpoint(dir: string): void {
  const pending = path.join(dir, PENDING_DIR);
  if (!fs.existsSync(pending)) return;
  const names = fs.readdirSync(pending);
  for (const name of names.filter((n) => n !== STATE_FILE)) fs.renameSync(path.join(pending, name), path.join(dir, name));
  if (names.includes(STATE_FILE)) fs.renameSync(path.join(pending, STATE_FILE), path.join(dir, STATE_FILE));
  fs.rmSync(pending, { recursive: true, force: true });
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
  const buf = readRegularFileSync(file, 'the optimizer slots of a checkpoint');
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
  rollForwardCheckpoint(dir); // a checkpoint staged before a kill goes in first
  const staging = fs.mkdtempSync(path.join(dir, '.ckpt-staging.tmp-'));
  try {
    await model.save(`file://${path.resolve(staging)}`);
    const optimizerSlots = await saveOptimizer(path.join(staging, OPTIMIZER_FILE), optimizer);
    const parts = Object.fromEntries(partNames(staging).map((n) => [n, sha256(path.join(staging, n))]));
    const full: TrainState = { format: 'mamba-tfjs-train-state', version: 1, ...state, optimizerSlots, savedAt: new Date().toISOString(), parts };
    writeFileAtomicSync(path.join(staging, STATE_FILE), stateJson(full));
    fs.renameSync(staging, path.join(dir, PENDING_DIR)); // the one atomic step: the checkpoint now exists whole
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`cannot save the checkpoint in ${dir}: ${(e as Error).message}`);
  }
  rollForwardCheckpoint(dir);
}

/** Reads and checks `dir/train-state.json`. */
export function readTrainState(dir: string): TrainState {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) throw new Error(`--resume: expected a checkpoint with ${STATE_FILE} in ${dir}, found none`);
  const s = readJsonFileSync(file, 'a training state') as TrainState;
  if (s === null || typeof s !== 'object' || s.format !== 'mamba-tfjs-train-state' || s.version !== 1) {
    throw new Error(`${file}: expected format mamba-tfjs-train-state version 1, got ${String(s?.format)} version ${String(s?.version)}`);
  }
  if (!Number.isSafeInteger(s.step) || s.step < 0) throw new Error(`${file}: expected "step" to be a non-negative integer, got ${JSON.stringify(s.step)}`);
  if (!Number.isFinite(s.rngState)) throw new Error(`${file}: expected "rngState" to be a number, got ${JSON.stringify(s.rngState)}`);
  if (!Array.isArray(s.optimizerSlots)) throw new Error(`${file}: expected "optimizerSlots" to be an array`);
  if (s.parts != null) checkParts(dir, s);
  return s;
}

/** Throws when a file of the checkpoint is not the one train-state.json was saved with (a mixed checkpoint). */
function checkParts(dir: string, s: TrainState): void {
  const parts = s.parts as Record<string, string>;
  const mixed = Object.keys(parts).filter((name) => {
    const file = path.join(dir, name);
    return !fs.existsSync(file) || sha256(file) !== parts[name];
  });
  if (mixed.length) {
    throw new Error(
      `--resume: ${dir} is a mixed checkpoint: ${mixed.join(', ')} ${mixed.length > 1 ? 'are' : 'is'} not what ${STATE_FILE} ` +
        `(step ${s.step}) was saved with; resuming would continue from two different steps (start afresh without --resume)`,
    );
  }
}

/** Loads the model of a checkpoint and restores the optimizer's slots into `optimizer`. */
export async function loadTrainCheckpoint(dir: string, state: TrainState, optimizer: tf.Optimizer): Promise<tfl.LayersModel> {
  const model = await tfl.loadLayersModel(`file://${path.resolve(dir, MODEL_FILE)}`);
  await loadOptimizer(path.join(dir, OPTIMIZER_FILE), state.optimizerSlots, optimizer);
  return model;
}
