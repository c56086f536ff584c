/**
 * Selective Copying (Mamba paper, Section 4.1): a context of noise tokens with a few data tokens
 * scattered at random positions, followed by marker tokens; at the i-th marker the model must emit
 * the i-th data token. Solving it needs content-aware (selective) memory: the gaps between data
 * tokens vary, so a time-invariant convolution cannot know where to look.
 *
 * Token ids: 0 = noise, 1 = marker, 2 .. 2 + nDataVocab - 1 = data symbols.
 * Layout of one sequence (T = seqLen + nData):
 *
 *   positions 0 .. seqLen-1      noise, except nData sorted random positions holding data tokens
 *   positions seqLen .. T-1      markers; target at seqLen + i is the i-th data token
 */
import type { Rng } from './rng';
import { emptyBatch, type SampleOptions, type Task, type TokenBatch } from './types';

/** Id of the noise (filler) token. */
export const SC_NOISE = 0;
/** Id of the marker token that asks for the next data token. */
export const SC_MARKER = 1;
/** Id of the first data symbol. */
export const SC_DATA0 = 2;

/** Size of one Selective Copying instance. */
export interface SelectiveCopyingConfig {
  /** Length of the context region (noise + data), before the markers. */
  seqLen: number;
  /** How many data tokens to memorise (and markers to answer). */
  nData: number;
  /** How many distinct data symbols. */
  nDataVocab: number;
}

/** Checks a config and throws naming the expected and actual values. */
function validate(c: SelectiveCopyingConfig): void {
  for (const k of ['seqLen', 'nData', 'nDataVocab'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`selective copying ${k}: expected a positive integer, got ${c[k]}`);
  }
  if (c.nData > c.seqLen) throw new Error(`selective copying: expected nData <= seqLen, got nData=${c.nData}, seqLen=${c.seqLen}`);
}

/** Selective Copying batches generated on the fly. */
export class SelectiveCopyingTask implements Task {
  readonly name = 'selective-copying';
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly config: SelectiveCopyingConfig;

  constructor(config: SelectiveCopyingConfig) {
    validate(config);
    this.config = { ...config };
    this.vocabSize = SC_DATA0 + config.nDataVocab;
    this.seqLen = config.seqLen + config.nData;
  }

  /**
   * Draws B sequences. `opts.length`, if given, must equal the training length (the layout is
   * fixed by the config); build another task to change it.
   */
  sample(rng: Rng, batch: number, opts: SampleOptions = {}): TokenBatch {
    const T = this.seqLen;
    if (opts.length !== undefined && opts.length !== T) {
      throw new Error(`selective copying length: expected ${T} (seqLen + nData), got ${opts.length}`);
    }
    const { seqLen, nData, nDataVocab } = this.config;
    const out = emptyBatch(batch, T); // x, y, mask: (B, T)
    for (let b = 0; b < batch; b++) {
      const row = b * T;
      const positions = rng.sampleSorted(seqLen, nData);
      for (let i = 0; i < nData; i++) {
        const tok = SC_DATA0 + rng.int(nDataVocab);
        out.x[row + positions[i]] = tok; // noise elsewhere (SC_NOISE = 0 from the allocation)
        out.x[row + seqLen + i] = SC_MARKER;
        out.y[row + seqLen + i] = tok;
        out.mask[row + seqLen + i] = 1;
      }
    }
    return out;
  }
}
