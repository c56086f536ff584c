/**
 * MambaLM: token ids (B, L) → logits (B, L, V). Embedding → Mamba stack → norm_f → head (tied to the
 * embedding, or `lm_head.weight`), with the vocabulary padded to a multiple of padVocabSizeMultiple.
 *
 * Shape letters: B batch, L length, D model width, V padded vocabulary.
 */
import { serialization } from '@tensorflow/tfjs-core';
import { Mamba, MambaArgs } from './mamba';
import { LMBase, VocabArgs } from './lmBase';
import type { MambaBlockCache } from './cache';

export { paddedVocabSize } from './lmBase';
export type { MambaLMInt8Scales } from './lmBase';

/** Arguments of {@link MambaLM}: the Mamba stack's plus the vocabulary (padded to a multiple of 8 by default). */
export interface MambaLMArgs extends Omit<MambaArgs, 'weightPrefix'>, VocabArgs {}

/** A Mamba language model as a tf.layers layer: token ids (B, L) → logits (B, L, V), with decoding methods. */
export class MambaLM extends LMBase<Mamba, MambaBlockCache, MambaLMArgs> {
  /** Name under which tfjs serializes the layer. */
  static className = 'MambaLM';

  constructor(args: MambaLMArgs) {
    super(args, (config) => new Mamba(config), 8);
  }
}
serialization.registerClass(MambaLM);
