/**
 * Byte-level language modelling over any file: each sequence is a random window of T + 1 bytes,
 * x = window[0 .. T-1] and y = window[1 .. T] (next-byte prediction, every position scored).
 * The last `valFraction` of the file is held out for validation.
 */
import { readRegularFileSync } from '../io/regularFile';
import type { Rng } from './rng';
import { emptyBatch, type SampleOptions, type Task, type TokenBatch } from './types';

/** Options of a {@link TextDataTask}. */
export interface TextDataConfig {
  /** Training window length T. */
  seqLen: number;
  /** Fraction of the bytes, taken from the end, used for validation (default 0.1). */
  valFraction?: number;
}

/** Random byte windows from an in-memory buffer. */
export class TextDataTask implements Task {
  readonly name = 'text';
  readonly vocabSize = 256;
  readonly seqLen: number;
  private readonly train: Uint8Array;
  private readonly val: Uint8Array;

  /** @param bytes the whole corpus; must hold at least seqLen + 1 bytes in each split. */
  constructor(bytes: Uint8Array, config: TextDataConfig) {
    const T = config.seqLen;
    if (!Number.isInteger(T) || T <= 0) throw new Error(`text seqLen: expected a positive integer, got ${T}`);
    const valFraction = config.valFraction ?? 0.1;
    if (!(valFraction > 0 && valFraction < 1)) throw new Error(`text valFraction: expected a number in (0, 1), got ${valFraction}`);
    const cut = Math.floor(bytes.length * (1 - valFraction));
    this.train = bytes.subarray(0, cut);
    this.val = bytes.subarray(cut);
    if (this.val.length < T + 1) {
      throw new Error(
        `text data: expected at least ${T + 1} bytes in the validation split (${valFraction} of the file), ` +
          `got ${this.val.length} of ${bytes.length} in total; use a larger file or a shorter --seq-len`,
      );
    }
    this.seqLen = T;
  }

  /** Reads a whole file as bytes. */
  static fromFile(path: string, config: TextDataConfig): TextDataTask {
    // Regular files only (not /dev/zero or a FIFO), read whole: one Buffer holds at most 2 GiB.
    return new TextDataTask(new Uint8Array(readRegularFileSync(path, 'a text file for --data', 2 ** 31 - 1)), config);
  }

  /** Number of bytes in the train and validation splits. */
  get sizes(): { train: number; val: number } {
    return { train: this.train.length, val: this.val.length };
  }

  /** Draws B windows from the chosen split (default train) of length `opts.length` (default T). */
  sample(rng: Rng, batch: number, opts: SampleOptions = {}): TokenBatch {
    const T = opts.length ?? this.seqLen;
    const src = opts.split === 'val' ? this.val : this.train;
    if (!Number.isInteger(T) || T <= 0 || T + 1 > src.length) {
      throw new Error(`text length: expected an integer in [1, ${src.length - 1}] for the ${opts.split ?? 'train'} split, got ${T}`);
    }
    const out = emptyBatch(batch, T); // x, y, mask: (B, T)
    const starts = src.length - T; // window start in [0, len - T - 1]
    for (let b = 0; b < batch; b++) {
      const s = rng.int(starts);
      const row = b * T;
      for (let t = 0; t < T; t++) {
        out.x[row + t] = src[s + t];
        out.y[row + t] = src[s + t + 1];
      }
    }
    out.mask.fill(1);
    return out;
  }
}
