/**
 * Induction Heads (Mamba paper, Section 4.1): a sequence of random symbols in which a special
 * trigger token occurs once, followed by a key symbol; the sequence ends with the trigger again and
 * the model must emit the key there. The paper trains at one length and tests how far the learned
 * recall extrapolates to longer sequences; {@link InductionHeadsTask.sample} takes any length >= 3.
 *
 * Token ids: 0 = trigger, 1 .. nSymbols = ordinary symbols (never the trigger).
 * Layout of one sequence of length T:
 *
 *   position p (0 <= p <= T-3)   trigger
 *   position p + 1               key (a random symbol)
 *   position T - 1               trigger; the target there is the key (the only scored position)
 *   every other position         random symbols
 */
import type { Rng } from './rng';
import { emptyBatch, type SampleOptions, type Task, type TokenBatch } from './types';

/** Id of the trigger token. */
export const IH_TRIGGER = 0;

/** Size of one Induction Heads instance. */
export interface InductionHeadsConfig {
  /** Training sequence length T (including the final trigger). */
  seqLen: number;
  /** Number of ordinary symbols. */
  nSymbols: number;
}

/** Induction Heads batches generated on the fly, at the training length or any other. */
export class InductionHeadsTask implements Task {
  readonly name = 'induction-heads';
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly config: InductionHeadsConfig;

  constructor(config: InductionHeadsConfig) {
    if (!Number.isInteger(config.seqLen) || config.seqLen < 3) {
      throw new Error(`induction heads seqLen: expected an integer >= 3, got ${config.seqLen}`);
    }
    if (!Number.isInteger(config.nSymbols) || config.nSymbols < 1) {
      throw new Error(`induction heads nSymbols: expected a positive integer, got ${config.nSymbols}`);
    }
    this.config = { ...config };
    this.vocabSize = config.nSymbols + 1;
    this.seqLen = config.seqLen;
  }

  /** Draws B sequences of length `opts.length` (default: the training length). */
  sample(rng: Rng, batch: number, opts: SampleOptions = {}): TokenBatch {
    const T = opts.length ?? this.seqLen;
    if (!Number.isInteger(T) || T < 3) throw new Error(`induction heads length: expected an integer >= 3, got ${T}`);
    const n = this.config.nSymbols;
    const out = emptyBatch(batch, T); // x, y, mask: (B, T)
    for (let b = 0; b < batch; b++) {
      const row = b * T;
      for (let t = 0; t < T; t++) out.x[row + t] = 1 + rng.int(n);
      const p = rng.int(T - 2); // trigger position in [0, T-3]
      out.x[row + p] = IH_TRIGGER;
      const key = out.x[row + p + 1];
      out.x[row + T - 1] = IH_TRIGGER;
      out.y[row + T - 1] = key;
      out.mask[row + T - 1] = 1;
    }
    return out;
  }
}
