/**
 * MambaLM: token ids (B, L) → logits (B, L, V). Embedding → Mamba stack → norm_f → head tied to the
 * embedding, with the vocabulary padded to a multiple of padVocabSizeMultiple.
 *
 * Shape letters: B batch, L length, D model width, V padded vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { ParentLayer } from './parentLayer';
import { Mamba, MambaArgs } from './mamba';
import { RMSNorm } from './rmsNorm';
import { SeedStream, normal } from './initializers';
import { configForSave } from './config';
import { checkTokenIds } from './validate';
import type { MambaCache } from './cache';

export interface MambaLMArgs extends Omit<MambaArgs, 'weightPrefix'> {
  /** Vocabulary size before padding. */
  vocabSize: number;
  /** The embedding has ⌈vocabSize / m⌉·m rows (default 8). */
  padVocabSizeMultiple?: number;
}

/** V: the vocabulary padded up to a multiple of m. */
export function paddedVocabSize(vocabSize: number, multiple = 8): number {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`MambaLM: expected vocabSize to be a positive integer, got ${JSON.stringify(vocabSize)}`);
  }
  if (!Number.isInteger(multiple) || multiple < 1) {
    throw new Error(`MambaLM: expected padVocabSizeMultiple to be a positive integer, got ${JSON.stringify(multiple)}`);
  }
  return Math.ceil(vocabSize / multiple) * multiple;
}

export class MambaLM extends ParentLayer {
  static className = 'MambaLM';
  readonly vocabSize: number;
  readonly padVocabSizeMultiple: number;
  /** V: rows of the embedding and width of the logits. */
  readonly paddedVocab: number;
  readonly embedding: LayerVariable; // (V, D)
  readonly backbone: Mamba;
  readonly normF: RMSNorm;

  constructor(args: MambaLMArgs) {
    super(args);
    const { vocabSize, padVocabSizeMultiple, name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...config } = args;
    this.vocabSize = vocabSize;
    this.padVocabSizeMultiple = padVocabSizeMultiple ?? 8;
    this.paddedVocab = paddedVocabSize(vocabSize, this.padVocabSizeMultiple);
    this.backbone = new Mamba({ ...config, weightPrefix: 'backbone.' });
    const d = this.backbone.config.dModel;
    const seeds = new SeedStream(config.seed == null ? undefined : config.seed + 77);
    this.embedding = this.addWeight('backbone.embeddings.weight', [this.paddedVocab, d], 'float32', normal(0.02, seeds));
    this.normF = new RMSNorm({ dModel: d, eps: this.backbone.config.normEps, weightPrefix: 'backbone.norm_f.' });
  }

  protected subLayers(): layers.Layer[] {
    return [this.backbone, this.normF];
  }

  override build(): void {
    this.built = true;
  }

  /**
   * Porting note: the vocabulary axis of the symbolic output is left unknown (null) so that `model.fit`
   * accepts sparse targets of shape (B, L, 1); tfjs checks every known target dimension against the output.
   */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const s = inputShape as Shape;
    if (s.length !== 2) throw new Error(`MambaLM: expected input shape [batch, length] of token ids, got [${s}]`);
    return [s[0], s[1], null];
  }

  /** Look up token ids: (B, L) → (B, L, D). Checks the ids. */
  embed(ids: tf.Tensor): tf.Tensor {
    checkTokenIds(ids, this.paddedVocab, 'MambaLM');
    return tf.tidy(() => tf.gather(this.embedding.read(), tf.cast(ids, 'int32'))); // (B, L, D)
  }

  /** Final norm and the tied head: (B, L, D) → (B, L, V). */
  head(h: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, l, d] = h.shape;
      const normed = tf.reshape(this.normF.call(h, {}) as tf.Tensor, [b * l, d]); // (B·L, D)
      const logits = tf.matMul(normed, this.embedding.read(), false, true); // (B·L, V)
      return tf.reshape(logits, [b, l, this.paddedVocab]); // (B, L, V)
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const ids = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L)
    return tf.tidy(() => this.head(this.backbone.call(this.embed(ids), kwargs) as tf.Tensor)); // (B, L, V)
  }

  /**
   * Every hidden state as HF transformers reports it: the residual stream after each block, then norm_f of
   * the last; and the logits. The caller disposes them.
   */
  forwardWithHidden(ids: tf.Tensor): { hidden: tf.Tensor[]; logits: tf.Tensor } {
    return tf.tidy(() => {
      const hs = this.backbone.hiddenStates(this.embed(ids)); // nLayers × (B, L, D)
      const last = hs[hs.length - 1];
      const normed = this.normF.call(last, {}) as tf.Tensor; // (B, L, D)
      return { hidden: [...hs, normed], logits: this.head(last) };
    }) as unknown as { hidden: tf.Tensor[]; logits: tf.Tensor };
  }

  /** The cache before the first token: one zero cache per layer. */
  emptyCache(batch: number): MambaCache {
    return this.backbone.emptyCache(batch);
  }

  /**
   * One decoding step: token ids (B,) → logits (B, V) of the next token, and the next cache.
   * Does not dispose `cache`; the caller disposes it (and, later, the returned one).
   */
  step(ids: tf.Tensor, cache: MambaCache): { logits: tf.Tensor2D; cache: MambaCache } {
    if (ids.rank !== 1) throw new Error(`MambaLM.step: expected token ids of shape (batch,), got [${ids.shape}]`);
    return tf.tidy(() => {
      const [b] = ids.shape;
      const d = this.backbone.config.dModel;
      const x = tf.reshape(this.embed(tf.reshape(ids, [b, 1])), [b, d]); // (B, D)
      const out = this.backbone.step(x, cache); // (B, D)
      const logits = tf.reshape(this.head(tf.reshape(out.y, [b, 1, d])), [b, this.paddedVocab]) as tf.Tensor2D; // (B, V)
      return { logits, cache: out.cache };
    });
  }

  /**
   * The parallel forward over a prompt: ids (B, L) → logits (B, L, V) (equal to `call`), and the cache after
   * its last token, ready for `step`.
   */
  prefill(ids: tf.Tensor): { logits: tf.Tensor3D; cache: MambaCache } {
    return tf.tidy(() => {
      const out = this.backbone.prefill(this.embed(ids)); // (B, L, D)
      return { logits: this.head(out.y) as tf.Tensor3D, cache: out.cache }; // (B, L, V)
    });
  }

  override getConfig(): serialization.ConfigDict {
    const { ...config } = configForSave(this.backbone.config);
    return { ...super.getConfig(), ...config, vocabSize: this.vocabSize, padVocabSizeMultiple: this.padVocabSizeMultiple };
  }
}
serialization.registerClass(MambaLM);
