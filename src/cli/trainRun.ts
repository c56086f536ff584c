/**
 * The state of one training run (options, task, model, optimizer, data stream, curves), created
 * fresh or restored from a checkpoint, with its save and validate actions.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../node';
import { buildTrainModel, describeArch } from './trainModel';
import { Rng } from '../tasks/rng';
import type { Task } from '../tasks/types';
import {
  emptyHistory, loadTrainCheckpoint, readTrainState, rollForwardCheckpoint, saveTrainCheckpoint, type TrainHistory, type TrainState,
} from './trainCheckpoint';
import { claimOutDir } from './trainOut';
import { evaluate, type EvalResult } from './evaluate';
import { defaultOptions, resolveOptions, type TrainOptions } from './trainOptions';
import { buildTask, describeTask, tokenizerMetadata } from './trainTask';

/** Options as given: anything left undefined takes the default (or the resumed run's value). */
export type TrainArgs = Partial<TrainOptions> & { /** Continue the run saved in `out`. */ resume?: boolean };

/** Offset that gives the validation stream its own seed. */
const VAL_SEED_OFFSET = 1_000_003;

/** The stream of validation sequences of a run with this seed (the same sequences at every validation). */
export function validationRng(seed: number): Rng {
  return new Rng(seed + VAL_SEED_OFFSET);
}

/** A training run in progress. Call {@link TrainRun.dispose} when done. */
export class TrainRun {
  /** Optimizer steps done. */
  step = 0;
  /** Seconds spent in training steps, over all sessions of the run. */
  trainSeconds = 0;
  history: TrainHistory = emptyHistory();
  lastEval?: EvalResult;

  private constructor(
    readonly options: TrainOptions,
    readonly task: Task,
    readonly model: tfl.LayersModel,
    readonly optimizer: tf.Optimizer,
    /** The training data stream. */
    public rng: Rng,
  ) {}

  /**
   * Selects the backend and builds a new run, or restores the one saved in `out` when `resume`.
   * @param log receives the one-line descriptions of the run.
   */
  static async open(args: TrainArgs, log: (line: string) => void): Promise<TrainRun> {
    const { resume, ...given } = args;
    const out = given.out ?? defaultOptions(given.task ?? 'selective-copying').out;
    const release = claimOutDir(out); // checked, locked and cleaned before anything else
    try {
      rollForwardCheckpoint(out);
      return await TrainRun.build(given, out, resume ? readTrainState(out) : undefined, log, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  private static async build(given: Partial<TrainOptions>, out: string, saved: TrainState | undefined, log: (line: string) => void, release: () => void): Promise<TrainRun> {
    const o = resolveOptions({ ...given, out }, saved?.options);
    const backend = await selectBackend(o.backend); // default: $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu (no tfjs banner)
    const task = buildTask(o);
    log(`mamba-tfjs train | backend ${backend} | ${describeTask(o, task)}`);
    const optimizer = tf.train.adam(o.lr);
    let run: TrainRun;
    if (saved) {
      run = new TrainRun(o, task, await loadTrainCheckpoint(out, saved, optimizer), optimizer, Rng.fromState(saved.rngState));
      run.step = saved.step;
      run.history = saved.history;
      run.trainSeconds = saved.trainSeconds;
      run.lastEval = saved.lastEval;
      log(`resumed ${out} at step ${run.step} of ${o.steps}`);
    } else {
      const model = buildTrainModel(o, task.vocabSize);
      run = new TrainRun(o, task, model, optimizer, new Rng(o.seed));
    }
    run.releaseOut = release;
    const metadata = tokenizerMetadata(o);
    if (metadata) run.model.setUserDefinedMetadata(metadata); // saved in model.json: `generate` samples it as text
    log(`model: ${describeArch(o)}, D=${o.dModel}, ${o.nLayers} layers, N=${o.dState}, E=${o.expand}, ${run.model.countParams()} parameters; batch ${o.batch}, lr ${o.lr}, ${o.steps} steps`);
    return run;
  }

  /** Records one training step's numbers. */
  record(loss: number, accuracy: number): void {
    this.history.train.step.push(this.step);
    this.history.train.loss.push(loss);
    this.history.train.accuracy.push(accuracy);
  }

  /** Validates on the held-out stream and records the result at the current step. */
  async validate(): Promise<EvalResult> {
    const r = await evaluate(this.model, this.task, validationRng(this.options.seed), this.options.evalSize);
    const v = this.history.val;
    if (v.step[v.step.length - 1] !== this.step) {
      v.step.push(this.step);
      v.loss.push(r.loss);
      v.accuracy.push(r.accuracy);
      v.seqAccuracy.push(r.seqAccuracy);
    }
    this.lastEval = r;
    return r;
  }

  /** Writes the checkpoint (model, optimizer, train-state.json) into the run's folder. */
  async save(): Promise<void> {
    await saveTrainCheckpoint(this.options.out, this.model, this.optimizer, {
      step: this.step,
      rngState: this.rng.state,
      options: this.options,
      history: this.history,
      trainSeconds: this.trainSeconds,
      lastEval: this.lastEval,
    });
  }

  /** Releases the lock on the output directory. */
  private releaseOut: () => void = () => undefined;

  /** Frees the model's and the optimizer's tensors and releases the output directory. */
  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
    this.releaseOut();
  }
}
