/**
 * NanGuard: a tfjs Callback that stops `model.fit` as soon as the loss (or another monitored log value) is
 * NaN or ±Infinity, and says where.
 *
 * Behaviour (chosen over throwing): on a non-finite value at the end of a batch it sets
 * `model.stopTraining = true`, so fit ends right after that batch and resolves normally, and it records an
 * Error whose message names the place, e.g. "loss became NaN at epoch 1, step 38 (global step 38); training
 * stopped". Epochs and steps in the message and in {@link NanGuardTrip} are 1-based (step = batch within the
 * epoch). Read {@link NanGuard.error} or call {@link NanGuard.throwIfTripped} after fit.
 *
 * Use it among Callback instances only: tfjs passes a callbacks list through as is when its first element is a
 * Callback, and otherwise wraps every element as a plain `{onBatchEnd, ...}` config (which would cut the guard
 * off from its model). Wrap plain-object callbacks with `new tf.CustomCallback({...})` to mix them.
 *
 * Why not throw from the callback: tfjs's fit loop then skips its own cleanup for that batch (the batch's
 * log tensors and the epoch's index tensor leak) and never calls the other callbacks' onTrainEnd. Note that the
 * update of the poisoned step has already been applied when the callback runs: the weights and the optimizer's
 * state (e.g. Adam's moments) may be NaN now; restore the weights from a checkpoint and use a fresh optimizer.
 */
import { Tensor } from '@tensorflow/tfjs-core';
import { Callback, Logs } from '@tensorflow/tfjs-layers';

/** Where and why training was stopped. */
export interface NanGuardTrip {
  /** The log key that became non-finite (e.g. 'loss'). */
  key: string;
  /** Its value (NaN or ±Infinity). */
  value: number;
  /** 1-based epoch. */
  epoch: number;
  /** 1-based step (batch) within the epoch. */
  step: number;
  /** 1-based count of steps since training began (this guard's onTrainBegin). */
  globalStep: number;
}

/** Options of {@link NanGuard}. */
export interface NanGuardOptions {
  /** Log keys to watch (default ['loss']); absent keys are ignored. */
  monitor?: string[];
}

/** A log value as tfjs passes it to subclassed callbacks: a number or a scalar tensor. */
async function logValue(v: unknown): Promise<number | null> {
  if (typeof v === 'number') return v;
  if (v instanceof Tensor) return (await v.data())[0];
  return null;
}

/** Stops training on the first non-finite monitored value; see the module comment. */
export class NanGuard extends Callback {
  /** Keys watched. */
  readonly monitor: string[];
  /** The Error describing the stop, or null while training is healthy. */
  error: Error | null = null;
  /** Details of the stop, or null. */
  trip: NanGuardTrip | null = null;
  private epoch = 0;
  private globalStep = 0;

  constructor(options: NanGuardOptions = {}) {
    super();
    this.monitor = options.monitor ?? ['loss'];
    if (!Array.isArray(this.monitor) || this.monitor.length === 0 || !this.monitor.every((k) => typeof k === 'string')) {
      throw new Error(`NanGuard: expected monitor to be a non-empty array of log keys, got ${JSON.stringify(options.monitor)}`);
    }
  }

  /** Whether training was stopped. */
  get tripped(): boolean {
    return this.error !== null;
  }

  /** Resets the guard (a new fit starts counting steps at 1). */
  override async onTrainBegin(): Promise<void> {
    this.error = null;
    this.trip = null;
    this.globalStep = 0;
  }

  /** Records the epoch, for the trip report. */
  override async onEpochBegin(epoch: number): Promise<void> {
    this.epoch = epoch;
  }

  /** Checks the watched logs; on a non-finite value records the trip and stops training. */
  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    this.globalStep++;
    if (this.error !== null || logs == null) return;
    for (const key of this.monitor) {
      const value = await logValue((logs as Record<string, unknown>)[key]);
      if (value === null || Number.isFinite(value)) continue;
      this.trip = { key, value, epoch: this.epoch + 1, step: batch + 1, globalStep: this.globalStep };
      const what = Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
      this.error = new Error(
        `${key} became ${what} at epoch ${this.trip.epoch}, step ${this.trip.step} (global step ${this.globalStep}); training stopped`,
      );
      this.model.stopTraining = true;
      return;
    }
  }

  /** Throws the recorded Error, if training was stopped. */
  throwIfTripped(): void {
    if (this.error !== null) throw this.error;
  }
}
