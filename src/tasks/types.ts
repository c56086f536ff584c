/**
 * Shared shapes of the synthetic and text training tasks.
 */
import type { Rng } from './rng';

/** Which stream a batch is drawn from; synthetic tasks ignore it (every sequence is fresh). */
export type Split = 'train' | 'val';

/** Options of one {@link Task.sample} call. */
export interface SampleOptions {
  /** Total sequence length T of this batch; defaults to the task's training length. */
  length?: number;
  /** Train or held-out data (only the text task has a real split). */
  split?: Split;
}

/**
 * One batch of token sequences, row-major flat arrays.
 * `y[b*T + t]` is the token the model must emit at position t, or -1 where nothing is scored;
 * `mask` is 1 exactly where `y >= 0`.
 */
export interface TokenBatch {
  /** Number of sequences B. */
  batch: number;
  /** Sequence length T. */
  length: number;
  /** Input ids, (B, T). */
  x: Int32Array;
  /** Target ids, (B, T); -1 where ignored. */
  y: Int32Array;
  /** Loss weights, (B, T); 1 on scored positions, 0 elsewhere. */
  mask: Float32Array;
}

/** A source of training batches with a fixed vocabulary. */
export interface Task {
  /** Short name used by the CLI (`selective-copying`, `induction-heads`, `text`). */
  readonly name: string;
  /** Number of distinct token ids the task uses (ids are in [0, vocabSize)). */
  readonly vocabSize: number;
  /** Total training sequence length T. */
  readonly seqLen: number;
  /** Draws B sequences using `rng` (deterministic given the rng state). */
  sample(rng: Rng, batch: number, opts?: SampleOptions): TokenBatch;
}

/** Allocates an empty batch: x all zeros, y all -1, mask all zeros. */
export function emptyBatch(batch: number, length: number): TokenBatch {
  if (!Number.isInteger(batch) || batch <= 0) throw new Error(`batch: expected a positive integer, got ${batch}`);
  if (!Number.isInteger(length) || length <= 0) throw new Error(`length: expected a positive integer, got ${length}`);
  const n = batch * length;
  return { batch, length, x: new Int32Array(n), y: new Int32Array(n).fill(-1), mask: new Float32Array(n) };
}
