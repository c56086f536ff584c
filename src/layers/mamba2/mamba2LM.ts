/**
 * Mamba2LM: token ids (B, L) → logits (B, L, V). Embedding → Mamba-2 stack → norm_f → head (tied to the embedding,
 * or `lm_head.weight`), the vocabulary padded to a multiple of padVocabSizeMultiple. The same interface as
 * MambaLM (forwardWithHidden, prefill, step, …), so generate() drives either.
 *
 * Shape letters: B batch, L length, D model width, V padded vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { ParentLayer } from '../parentLayer';
import { RMSNorm } from '../rmsNorm';
import { SeedStream, constant, normal } from '../initializers';
import { checkTokenIds } from '../validate';
import { paddedVocabSize } from '../mambaLM';
import { matMulTransposeB } from '../../ops/linear/matMul';
import { Mamba2, Mamba2Args } from './mamba2';
import type { Mamba2BlockCache } from './mamba2Block';
import { mamba2ConfigForSave } from './config';

/** Arguments of {@link Mamba2LM}: a Mamba-2 config plus the vocabulary and its padding. */
export interface Mamba2LMArgs extends Omit<Mamba2Args, 'weightPrefix'> {
  /** Vocabulary size before padding. */
  vocabSize: number;
  /** The embedding has ⌈vocabSize / m⌉·m rows (default 16, as mamba_ssm's Mamba-2 models). */
  padVocabSizeMultiple?: number;
  /** The head is the embedding (default true); false: its own weight `lm_head.weight` (V, D). */
  tieEmbeddings?: boolean;
}

/** A Mamba-2 language model: embedding → Mamba-2 stack → norm_f → head, ids (B, L) → logits (B, L, V). */
export class Mamba2LM extends ParentLayer {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2LM';
  /** The vocabulary size of the checkpoint (before padding). */
  readonly vocabSize: number;
  /** The padded vocabulary is a multiple of this. */
  readonly padVocabSizeMultiple: number;
  /** The padded vocabulary size V. */
  readonly paddedVocab: number;
  /** The token embedding (V, D). */
  readonly embedding: LayerVariable; // (V, D)
  /** The untied head (V, D), or null when the head is the embedding. */
  readonly lmHead: LayerVariable | null; // (V, D)
  /** The Mamba-2 stack. */
  readonly backbone: Mamba2;
  /** The final RMS norm. */
  readonly normF: RMSNorm;

  constructor(args: Mamba2LMArgs) {
    super(args);
    const { vocabSize, padVocabSizeMultiple, tieEmbeddings, name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...config } = args;
    this.vocabSize = vocabSize;
    this.padVocabSizeMultiple = padVocabSizeMultiple ?? 16;
    this.paddedVocab = paddedVocabSize(vocabSize, this.padVocabSizeMultiple);
    this.backbone = new Mamba2({ ...config, weightPrefix: 'backbone.' });
    const d = this.backbone.config.dModel;
    const seeds = new SeedStream(config.seed == null ? undefined : config.seed + 77);
    const init = this.backbone.config.weightInit === 'zeros' ? constant(0) : normal(0.02, seeds);
    this.embedding = this.addWeight('backbone.embeddings.weight', [this.paddedVocab, d], 'float32', init);
    if (tieEmbeddings != null && typeof tieEmbeddings !== 'boolean') {
      throw new Error(`Mamba2LM: expected tieEmbeddings to be true or false, got ${JSON.stringify(tieEmbeddings)}`);
    }
    this.lmHead = tieEmbeddings === false ? this.addWeight('lm_head.weight', [this.paddedVocab, d], 'float32', init) : null;
    this.normF = new RMSNorm({ dModel: d, eps: this.backbone.config.normEps, weightPrefix: 'backbone.norm_f.' });
  }

  protected subLayers(): layers.Layer[] {
    return [this.backbone, this.normF];
  }

  override build(): void {
    this.built = true;
  }

  /** As MambaLM: the vocabulary axis of the symbolic output is left unknown so that fit takes (B, L, 1) targets. */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const s = inputShape as Shape;
    if (s.length !== 2) throw new Error(`Mamba2LM: expected input shape [batch, length] of token ids, got [${s}]`);
    return [s[0], s[1], null];
  }

  override get outputShape(): Shape {
    const s = super.outputShape as Shape;
    return [s[0], s[1], this.paddedVocab];
  }

  /** Number of Mamba-2 blocks. */
  get nLayers(): number {
    return this.backbone.config.nLayers;
  }

  /** Looks up token ids: (B, L) → (B, L, D). */
  embed(ids: tf.Tensor): tf.Tensor {
    checkTokenIds(ids, this.paddedVocab, 'Mamba2LM');
    return tf.tidy(() => tf.gather(this.embedding.read(), tf.cast(ids, 'int32'))); // (B, L, D)
  }

  /** The head's weight (V, D): lm_head, or the embedding when tied. */
  headWeight(): tf.Tensor2D {
    return (this.lmHead ?? this.embedding).read() as tf.Tensor2D; // (V, D)
  }

  /** Final norm and the head: (B, L, D) → (B, L, V). */
  head(h: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, l, d] = h.shape;
      const normed = tf.reshape(this.normF.call(h, {}) as tf.Tensor, [b * l, d]); // (B·L, D)
      return tf.reshape(matMulTransposeB(normed as tf.Tensor2D, this.headWeight()), [b, l, this.paddedVocab]); // (B, L, V)
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const ids = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L)
    return tf.tidy(() => this.head(this.backbone.call(this.embed(ids), kwargs) as tf.Tensor)); // (B, L, V)
  }

  /** The residual stream after each block, norm_f of the last, and the logits (HF's hidden_states). */
  forwardWithHidden(ids: tf.Tensor): { hidden: tf.Tensor[]; logits: tf.Tensor } {
    return tf.tidy(() => {
      const hs = this.backbone.hiddenStates(this.embed(ids)); // nLayers × (B, L, D)
      const last = hs[hs.length - 1];
      return { hidden: [...hs, this.normF.call(last, {}) as tf.Tensor], logits: this.head(last) };
    }) as unknown as { hidden: tf.Tensor[]; logits: tf.Tensor };
  }

  /** The decoding cache before the first token. */
  emptyCache(batch: number): Mamba2BlockCache[] {
    return this.backbone.emptyCache(batch);
  }

  /** The head at one position: h (B, D) → (B, V). headKernel: optional (D, V) from decodeHeadKernel. */
  headAt(h: tf.Tensor, headKernel?: tf.Tensor | null): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, d] = h.shape;
      const normed = tf.reshape(this.normF.call(tf.reshape(h, [b, 1, d]), {}) as tf.Tensor, [b, d]); // (B, D)
      return (headKernel ? tf.matMul(normed, headKernel) : tf.matMul(normed, this.headWeight(), false, true)) as tf.Tensor2D; // (B, V)
    });
  }

  /** The head weight transposed (D, V) on wasm (see MambaLM.decodeHeadKernel), else null. */
  decodeHeadKernel(): tf.Tensor2D | null {
    if (tf.getBackend() !== 'wasm') return null;
    return tf.tidy(() => tf.transpose(this.headWeight()) as tf.Tensor2D); // (D, V)
  }

  /** One decoding step: ids (B,) → logits (B, V) and the next cache. Does not dispose `cache`. */
  step(ids: tf.Tensor, cache: Mamba2BlockCache[], headKernel?: tf.Tensor | null): { logits: tf.Tensor2D; cache: Mamba2BlockCache[] } {
    if (ids.rank !== 1) throw new Error(`Mamba2LM.step: expected token ids of shape (batch,), got [${ids.shape}]`);
    return tf.tidy(() => {
      const [b] = ids.shape;
      const x = tf.reshape(this.embed(tf.reshape(ids, [b, 1])), [b, this.backbone.config.dModel]); // (B, D)
      const out = this.backbone.step(x, cache);
      return { logits: this.headAt(out.y, headKernel), cache: out.cache }; // (B, V)
    });
  }

  /** The prompt through the backbone, the head at its last position only: logits (B, V), and the cache. */
  prefillLast(ids: tf.Tensor, mask?: tf.Tensor, headKernel?: tf.Tensor | null): { logits: tf.Tensor2D; cache: Mamba2BlockCache[] } {
    return tf.tidy(() => {
      const out = this.backbone.prefill(this.embed(ids), mask); // (B, L, D)
      const [b, l, d] = out.y.shape;
      const last = tf.reshape(tf.slice(out.y, [0, l - 1, 0], [b, 1, d]), [b, d]); // (B, D)
      return { logits: this.headAt(last, headKernel), cache: out.cache };
    });
  }

  /** The parallel forward over a prompt: logits (B, L, V) and the cache after it. */
  prefill(ids: tf.Tensor, mask?: tf.Tensor): { logits: tf.Tensor3D; cache: Mamba2BlockCache[] } {
    return tf.tidy(() => {
      const out = this.backbone.prefill(this.embed(ids), mask);
      return { logits: this.head(out.y) as tf.Tensor3D, cache: out.cache };
    });
  }

  override getConfig(): serialization.ConfigDict {
    const out: serialization.ConfigDict = {
      ...super.getConfig(), ...mamba2ConfigForSave(this.backbone.config), vocabSize: this.vocabSize, padVocabSizeMultiple: this.padVocabSizeMultiple,
    };
    if (this.lmHead) out.tieEmbeddings = false;
    return out;
  }
}
serialization.registerClass(Mamba2LM);
