/**
 * Mamba2LM: token ids (B, L) → logits (B, L, V). Embedding → Mamba-2 stack → norm_f → head (tied to the embedding,
 * or `lm_head.weight`), the vocabulary padded to a multiple of padVocabSizeMultiple. The same interface as
 * MambaLM (forwardWithHidden, prefill, step, …), so generate() drives either.
 *
 * Shape letters: B batch, L length, D model width, V padded vocabulary.
 */
import { serialization } from '@tensorflow/tfjs-core';
import { LMBase, VocabArgs } from '../lmBase';
import { Mamba2, Mamba2Args } from './mamba2';
import type { Mamba2BlockCache } from './mamba2Block';

/** Arguments of {@link Mamba2LM}: a Mamba-2 config plus the vocabulary (padded to a multiple of 16 by default). */
export interface Mamba2LMArgs extends Omit<Mamba2Args, 'weightPrefix'>, VocabArgs {}

/** A Mamba-2 language model: embedding → Mamba-2 stack → norm_f → head, ids (B, L) → logits (B, L, V). */
export class Mamba2LM extends LMBase<Mamba2, Mamba2BlockCache, Mamba2LMArgs> {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2LM';

  constructor(args: Mamba2LMArgs) {
    super(args, (config) => new Mamba2(config), 16);
  }
}
serialization.registerClass(Mamba2LM);
