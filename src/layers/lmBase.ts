/**
 * LMBase: what MambaLM and Mamba2LM share: token ids (B, L) → logits (B, L, V). Embedding → a stack of residual
 * blocks → norm_f → head (tied to the embedding, or `lm_head.weight`), the vocabulary padded to a multiple of
 * padVocabSizeMultiple; and the decoding methods generate() drives (prefill, prefillLast, step).
 *
 * Shape letters: B batch, L length, D model width, V padded vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initializers, layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, ParentLayer } from './parentLayer';
import { RMSNorm } from './rmsNorm';
import { matVecStep, mixerStepAvailable } from '../ops/kernels/mixerStep';
import { fusedStepEnabled } from '../flags';
import { SeedStream, constant, normal } from './initializers';
import { checkTokenIds } from './validate';
import { matMulTransposeB } from '../ops/linear/matMul';
import type { BlockCache, StackConfig } from './stackBase';
import { INT8_SCALE_SUFFIX, int8Shape } from './int8';
import { int8Gather, int8MatMul2d } from '../ops/linear/int8';

/** The vocabulary fields of a language model's arguments. */
export interface VocabArgs {
  /** Vocabulary size before padding. */
  vocabSize: number;
  /** The embedding has ⌈vocabSize / m⌉·m rows (default 8 for Mamba, 16 for Mamba-2 as mamba_ssm's models). */
  padVocabSizeMultiple?: number;
  /**
   * The head is the embedding (default true); false: a head weight of its own, `lm_head.weight` (V, D), as in
   * checkpoints with `tie_word_embeddings: false` (FalconMamba, fine-tuned models).
   */
  tieEmbeddings?: boolean;
}

/** What a language model needs of its stack (Mamba, Mamba2). */
export interface LMStack<C extends BlockCache> extends layers.Layer {
  /** The stack's resolved config. */
  readonly config: StackConfig;
  /** The config as the language model saves it. */
  configForSave(): serialization.ConfigDict;
  /** The residual stream after each block: nLayers × (B, L, D). */
  hiddenStates(x: tf.Tensor): tf.Tensor[];
  /** The cache before the first token. */
  emptyCache(batch: number): C[];
  /** One decoding step x (B, D) → (B, D). */
  step(x: tf.Tensor, cache: C[]): { y: tf.Tensor2D; cache: C[] };
  /** The parallel forward over a prompt (B, L, D) → (B, L, D), and the cache after it. */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: C[] };
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

/** The row scales of an int8 language model (layers/int8.ts). */
export interface MambaLMInt8Scales {
  /** The embedding's (V). */
  embedding: LayerVariable;
  /** The untied head's (V), or null when the head is the embedding. */
  lmHead: LayerVariable | null;
}

/** The arguments every language model takes: the vocabulary's, tf.layers' own and a seed, besides its stack's (A). */
export type LMArgs = VocabArgs & NamedWeightsArgs & {
  /** Seed of the initial weights (default: unseeded). */
  seed?: number;
};

/** The tf.layers and vocabulary fields a language model keeps for itself; its stack gets the rest. */
type OwnFields = keyof VocabArgs | 'name' | 'inputShape' | 'batchInputShape' | 'weights';

/** A language model over a stack S with per-layer cache C, built from arguments A: ids (B, L) → logits (B, L, V). */
export abstract class LMBase<S extends LMStack<C>, C extends BlockCache, A extends LMArgs = LMArgs> extends ParentLayer {
  /** Vocabulary size before padding. */
  readonly vocabSize: number;
  /** The padded vocabulary is a multiple of this. */
  readonly padVocabSizeMultiple: number;
  /** V: rows of the embedding and width of the logits. */
  readonly paddedVocab: number;
  /** Token embedding (V, D), also the tied output head. */
  readonly embedding: LayerVariable; // (V, D)
  /** The untied head (V, D), or null when the head is the embedding. */
  readonly lmHead: LayerVariable | null; // (V, D)
  /** weightDtype 'int8': the row scales of the embedding and head (embedding, lmHead then hold int8 words); else null. */
  readonly int8Scales: MambaLMInt8Scales | null;
  /** The stack. */
  readonly backbone: S;
  /** The final RMSNorm (norm_f). */
  readonly normF: RMSNorm;

  /**
   * @param makeBackbone builds the stack from the arguments without the vocabulary ones, prefix `backbone.`
   * @param padMultiple the default padVocabSizeMultiple
   */
  constructor(args: A, makeBackbone: (config: Omit<A, OwnFields> & { weightPrefix: string }) => S, padMultiple: number) {
    super(args);
    const { vocabSize, padVocabSizeMultiple, tieEmbeddings, name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...config } = args;
    this.vocabSize = vocabSize;
    this.padVocabSizeMultiple = padVocabSizeMultiple ?? padMultiple;
    this.paddedVocab = paddedVocabSize(vocabSize, this.padVocabSizeMultiple);
    this.backbone = makeBackbone({ ...config, weightPrefix: 'backbone.' });
    const d = this.backbone.config.dModel;
    const seeds = new SeedStream(config.seed == null ? undefined : config.seed + 77);
    const init = this.backbone.config.weightInit === 'zeros' ? constant(0) : normal(0.02, seeds);
    if (tieEmbeddings != null && typeof tieEmbeddings !== 'boolean') {
      throw new Error(`${this.getClassName()}: expected tieEmbeddings to be true or false, got ${JSON.stringify(tieEmbeddings)}`);
    }
    const int8 = this.backbone.config.weightDtype === 'int8';
    // int8: the rows as words (V, RB/4) int32, each followed by its row scales (V); see layers/int8.ts.
    const addRows = (name: string) => (int8
      ? this.addWeight(name, int8Shape(this.paddedVocab, d), 'int32', initializers.zeros(), undefined, false)
      : this.addWeight(name, [this.paddedVocab, d], 'float32', init));
    const addScale = (name: string) => this.addWeight(name + INT8_SCALE_SUFFIX, [this.paddedVocab], 'float32', constant(1), undefined, false);
    this.embedding = addRows('backbone.embeddings.weight');
    const embeddingScale = int8 ? addScale('backbone.embeddings.weight') : null;
    // Porting note: torch's lm_head.weight is (V, D), the embedding's layout; we keep it so (not a tfjs (in, out)
    // kernel), so that the head is the same product whichever weight it reads.
    this.lmHead = tieEmbeddings === false ? addRows('lm_head.weight') : null;
    const headScale = int8 && this.lmHead ? addScale('lm_head.weight') : null;
    this.int8Scales = embeddingScale ? { embedding: embeddingScale, lmHead: headScale } : null;
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
    if (s.length !== 2) throw new Error(`${this.getClassName()}: expected input shape [batch, length] of token ids, got [${s}]`);
    return [s[0], s[1], null];
  }

  /**
   * The output shape as `model.summary()` shows it, with the vocabulary filled in: (B, L, V). Only this report
   * names V; the symbolic output tensors keep it unknown (see computeOutputShape), so `fit` with lmLoss still
   * takes (B, L, 1) targets.
   */
  override get outputShape(): Shape {
    const s = super.outputShape as Shape;
    return [s[0], s[1], this.paddedVocab];
  }

  /** Number of residual blocks. */
  get nLayers(): number {
    return this.backbone.config.nLayers;
  }

  /** Look up token ids: (B, L) → (B, L, D). Checks the ids. */
  embed(ids: tf.Tensor): tf.Tensor {
    checkTokenIds(ids, this.paddedVocab, this.getClassName());
    const s = this.int8Scales;
    if (s) return int8Gather(ids, this.embedding.read(), s.embedding.read(), this.backbone.config.dModel); // (B, L, D)
    return tf.tidy(() => tf.gather(this.embedding.read(), tf.cast(ids, 'int32'))); // (B, L, D)
  }

  /** The head's weight (V, D): lm_head.weight, or the embedding when tied. */
  headWeight(): tf.Tensor2D {
    return (this.lmHead ?? this.embedding).read() as tf.Tensor2D; // (V, D)
  }

  /** The int8 head: normed (M, D) → logits (M, V), through the int8 product (rows of the head and their scales). */
  private int8Head(normed: tf.Tensor): tf.Tensor2D {
    const s = this.int8Scales!;
    return int8MatMul2d(normed, this.headWeight(), (this.lmHead ? s.lmHead! : s.embedding).read()); // (M, V)
  }

  /** Final norm and the head: (B, L, D) → (B, L, V). */
  head(h: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, l, d] = h.shape;
      const normed = tf.reshape(this.normF.call(h, {}) as tf.Tensor, [b * l, d]); // (B·L, D)
      const logits = this.int8Scales ? this.int8Head(normed) : matMulTransposeB(normed as tf.Tensor2D, this.headWeight()); // (B·L, V)
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
  emptyCache(batch: number): C[] {
    return this.backbone.emptyCache(batch);
  }

  /**
   * The head at one position: norm_f, then the head. h (B, D) → logits (B, V).
   * @param headKernel optional (D, V): the embedding already transposed (see {@link decodeHeadKernel})
   */
  headAt(h: tf.Tensor, headKernel?: tf.Tensor | null): tf.Tensor2D {
    return tf.tidy(() => {
      const normed = this.normF.step(h); // (B, D)
      if (this.int8Scales) return this.int8Head(normed); // (B, V)
      if (headKernel && fusedStepEnabled() && mixerStepAvailable()) return matVecStep(normed, headKernel); // (B, V)
      return (headKernel ? tf.matMul(normed, headKernel) : tf.matMul(normed, this.headWeight(), false, true)) as tf.Tensor2D; // (B, V)
    });
  }

  /**
   * The head weight transposed, (D, V), for the decoding head — or null where it would not help.
   *
   * Porting note: the wasm backend multiplies by a transposed right operand ~6x slower than by a plain one
   * (measured: (1, 768) × (50280, 768)ᵀ 97 ms, × (768, 50280) 17 ms), so for many decoding steps a transposed
   * copy pays for itself. It costs V·D floats; the caller disposes it. The cpu backend gains nothing: null.
   */
  decodeHeadKernel(): tf.Tensor2D | null {
    if (tf.getBackend() !== 'wasm' || this.int8Scales) return null; // int8: rows are read in place
    return tf.tidy(() => tf.transpose(this.headWeight()) as tf.Tensor2D); // (D, V)
  }

  /**
   * One decoding step: token ids (B,) → logits (B, V) of the next token, and the next cache.
   * Does not dispose `cache`; the caller disposes it (and, later, the returned one).
   * @param headKernel optional (D, V) from {@link decodeHeadKernel}
   */
  step(ids: tf.Tensor, cache: C[], headKernel?: tf.Tensor | null): { logits: tf.Tensor2D; cache: C[] } {
    if (ids.rank !== 1) throw new Error(`${this.getClassName()}.step: expected token ids of shape (batch,), got [${ids.shape}]`);
    return tf.tidy(() => {
      const [b] = ids.shape;
      const x = tf.reshape(this.embed(tf.reshape(ids, [b, 1])), [b, this.backbone.config.dModel]); // (B, D)
      const out = this.backbone.step(x, cache); // (B, D)
      return { logits: this.headAt(out.y, headKernel), cache: out.cache }; // (B, V)
    });
  }

  /**
   * Prefill for generation: the backbone over the prompt, but the head only at the last position.
   * ids (B, L) → logits (B, V) of the next token, and the cache. (The full (B, L, V) logits would cost L times
   * the head's work for nothing.)
   * @param mask (B, L) optional, as in {@link prefill}
   * @param headKernel optional (D, V) from {@link decodeHeadKernel}
   */
  prefillLast(ids: tf.Tensor, mask?: tf.Tensor, headKernel?: tf.Tensor | null): { logits: tf.Tensor2D; cache: C[] } {
    return tf.tidy(() => {
      const out = this.backbone.prefill(this.embed(ids), mask); // (B, L, D)
      const [b, l, d] = out.y.shape;
      const last = tf.reshape(tf.slice(out.y, [0, l - 1, 0], [b, 1, d]), [b, d]); // (B, D)
      return { logits: this.headAt(last, headKernel), cache: out.cache }; // (B, V)
    });
  }

  /**
   * The parallel forward over a prompt: ids (B, L) → logits (B, L, V) (equal to `call`), and the cache after
   * its last token, ready for `step`.
   * @param mask (B, L) optional, 1 for tokens and 0 for padding (HF's attention mask: the mixers zero their conv
   *   input and output there, so left-padding leaves the cache as if the padding were absent)
   */
  prefill(ids: tf.Tensor, mask?: tf.Tensor): { logits: tf.Tensor3D; cache: C[] } {
    return tf.tidy(() => {
      const out = this.backbone.prefill(this.embed(ids), mask); // (B, L, D)
      return { logits: this.head(out.y) as tf.Tensor3D, cache: out.cache }; // (B, L, V)
    });
  }

  override getConfig(): serialization.ConfigDict {
    const out: serialization.ConfigDict = {
      ...super.getConfig(), ...this.backbone.configForSave(), vocabSize: this.vocabSize, padVocabSizeMultiple: this.padVocabSizeMultiple,
    };
    if (this.lmHead) out.tieEmbeddings = false; // written only when untied: older configs stay as they were
    return out;
  }
}

/**
 * A functional tf.LayersModel around a language model layer: int32 ids (B, L) of any length → logits (B, L, V).
 * Compile it with `lmLoss` and fit it on targets (B, L, 1).
 */
export function lmModel(lm: LMBase<LMStack<BlockCache>, BlockCache>, modelName: string): tfl.LayersModel {
  const ids = tfl.input({ shape: [null], dtype: 'int32', name: 'input_ids' });
  const logits = lm.apply(ids) as tfl.SymbolicTensor;
  return tfl.model({ inputs: ids, outputs: logits, name: modelName });
}

/**
 * The layer of class `cls` inside a model (made by createMambaLM / createMamba2LM or loaded from one).
 * @param what how the error names the layer looked for (default: the class name)
 */
export function findLayer<T extends layers.Layer>(model: tfl.LayersModel, cls: abstract new (...args: never[]) => T, what = `a ${cls.name}`): T {
  const lm = model.layers.find((l): l is T => l instanceof cls);
  if (!lm) throw new Error(`expected a model containing ${what} layer, got layers [${model.layers.map((l) => l.getClassName())}]`);
  return lm;
}
