/**
 * What every Mamba generation shares below the language model: the residual block, x + mixer(rmsnorm(x)), and the
 * stack of nLayers of them, each with its forward, hidden states, decoding step and prefill. Mamba-1
 * (ResidualBlock, Mamba) and Mamba-2 (Mamba2ResidualBlock, Mamba2) differ only in the mixer and its config.
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, ParentLayer, weightPrefixOf, weightPrefixConfig } from './parentLayer';
import { RMSNorm } from './rmsNorm';
import { checkLastDim } from './validate';
import { noteTrainingCall } from '../training/cpuHint';

/** A cache entry of one block (a type, so that tf.tidy may return it): conv inputs and the scan's state. */
export type BlockCache = {
  /** (B, K−1, ·) the last K−1 conv inputs, oldest first. */
  conv: tf.Tensor;
  /** The scan's state after the last token. */
  ssm: tf.Tensor;
};

/** The config fields every stack has (Mamba-1's and Mamba-2's resolved configs both do). */
export interface StackConfig {
  /** D: model width. */
  dModel: number;
  /** Number of residual blocks. */
  nLayers: number;
  /** Epsilon of the RMS norms. */
  normEps: number;
  /** Seed of the initial weights, or undefined. */
  seed: number | undefined;
  /** 'paper' or 'zeros' (weights loaded next). */
  weightInit: 'paper' | 'zeros';
  /** 'int8': weight-only int8 projections, embedding and head (Mamba-1 only; layers/int8.ts); else float32. */
  weightDtype?: 'float32' | 'int8';
}

/** What a residual block needs of its mixer (MambaBlock, Mamba2Block). */
export interface Mixer<C extends BlockCache> extends layers.Layer {
  /** The mixer's resolved config: its width and norm epsilon are the block's. */
  readonly config: {
    /** D: model width. */
    dModel: number;
    /** Epsilon of the block's RMS norm. */
    normEps: number;
  };
  /** The cache before the first token. */
  emptyCache(batch: number): C;
  /** One decoding step x (B, D) → (B, D). */
  step(x: tf.Tensor, cache: C): { y: tf.Tensor2D; cache: C };
  /** The parallel forward over a prompt (B, L, D) → (B, L, D), and the cache after it. */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: C };
}

/** Seed of layer i, derived from the stack's seed so that layers differ. */
export function layerSeed(seed: number | undefined, i: number): number | undefined {
  return seed == null ? undefined : seed * 1009 + i * 7919 + 1;
}

/** The tf.layers fields a layer keeps for itself (its sub-layers get the rest of its arguments). */
type OwnLayerFields = 'name' | 'inputShape' | 'batchInputShape' | 'weights';

/** x + mixer(rmsnorm(x)), (B, L, D) → (B, L, D), for any mixer M with cache C, built from arguments A. */
export abstract class ResidualBase<M extends Mixer<C>, C extends BlockCache, A extends NamedWeightsArgs = NamedWeightsArgs> extends ParentLayer {
  /** Prefix of this block's weight names (`backbone.layers.i.`). */
  readonly weightPrefix: string;
  /** The RMSNorm before the mixer. */
  readonly norm: RMSNorm;
  /** The mixer. */
  readonly mixer: M;

  /** @param makeMixer builds the mixer from the block's arguments (without the tf.layers fields) and its prefix */
  constructor(args: A, makeMixer: (mixerArgs: Omit<A, OwnLayerFields> & { weightPrefix: string }) => M) {
    super(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    const { name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...blockArgs } = args;
    this.mixer = makeMixer({ ...blockArgs, weightPrefix: `${this.weightPrefix}mixer.` });
    this.norm = new RMSNorm({ dModel: this.mixer.config.dModel, eps: this.mixer.config.normEps, weightPrefix: `${this.weightPrefix}norm.` });
  }

  /** The mixer's config as getConfig saves it. */
  protected abstract mixerConfigForSave(): serialization.ConfigDict;

  protected subLayers(): layers.Layer[] {
    return [this.norm, this.mixer];
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    return tf.tidy(() => tf.add(x, this.mixer.call(this.norm.call(x, kwargs), kwargs) as tf.Tensor)); // (B, L, D)
  }

  /** The mixer's cache before the first token. */
  emptyCache(batch: number): C {
    return this.mixer.emptyCache(batch);
  }

  /** One decoding step: x (B, D) → x + mixer.step(norm(x)) (B, D), and the mixer's next cache. */
  step(x: tf.Tensor, cache: C): { y: tf.Tensor2D; cache: C } {
    const d = this.mixer.config.dModel;
    if (x.rank !== 2 || x.shape[1] !== d) throw new Error(`${this.getClassName()}.step: expected x of shape (batch, ${d}), got [${x.shape}]`);
    return tf.tidy(() => {
      const normed = this.norm.step(x); // (B, D)
      const out = this.mixer.step(normed, cache); // (B, D)
      return { y: tf.add(x, out.y) as tf.Tensor2D, cache: out.cache }; // (B, D)
    });
  }

  /** The parallel forward over a prompt, x (B, L, D) → (B, L, D), and the mixer's cache after it. mask: (B, L). */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: C } {
    return tf.tidy(() => {
      const out = this.mixer.prefill(this.norm.call(x, {}) as tf.Tensor, mask); // (B, L, D)
      return { y: tf.add(x, out.y) as tf.Tensor3D, cache: out.cache }; // (B, L, D)
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...this.mixerConfigForSave(), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}

/** A stack of nLayers residual blocks K (cache C) under config F, (B, L, D) → (B, L, D). */
export abstract class StackBase<F extends StackConfig, K extends ResidualBase<Mixer<C>, C>, C extends BlockCache> extends ParentLayer {
  /** The config with every default filled in. */
  readonly config: F;
  /** Prefix of the weight names (`backbone.` inside a language model). */
  readonly weightPrefix: string;
  /** The residual blocks, in order. */
  readonly blocks: K[];

  /**
   * @param config the resolved config
   * @param makeBlock builds block i from the config, its seed and its weight prefix
   */
  constructor(args: NamedWeightsArgs, config: F, makeBlock: (blockArgs: F & { weightPrefix: string }) => K) {
    super(args);
    this.config = config;
    this.weightPrefix = weightPrefixOf(args, this.name);
    this.blocks = Array.from({ length: config.nLayers }, (_, i) =>
      makeBlock({ ...config, seed: layerSeed(config.seed, i), weightPrefix: `${this.weightPrefix}layers.${i}.` }),
    );
  }

  /** The config as getConfig saves it (also the language model's config). */
  abstract configForSave(): serialization.ConfigDict;

  protected subLayers(): layers.Layer[] {
    return this.blocks;
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const s = inputShape as Shape;
    if (s.length !== 3 || (s[2] != null && s[2] !== this.config.dModel)) {
      throw new Error(`${this.getClassName()}: expected input shape [batch, length, ${this.config.dModel}], got [${s}]`);
    }
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    checkLastDim(x, this.config.dModel, this.getClassName());
    noteTrainingCall(kwargs.training); // one hint per process when training on 'cpu' without the wasm package
    return tf.tidy(() => this.blocks.reduce((h, block) => block.call(h, kwargs) as tf.Tensor, x)); // (B, L, D)
  }

  /** The residual stream after each block: nLayers tensors (B, L, D). The caller disposes them. */
  hiddenStates(x: tf.Tensor): tf.Tensor[] {
    checkLastDim(x, this.config.dModel, this.getClassName());
    const out: tf.Tensor[] = [];
    let h = x;
    for (const block of this.blocks) out.push((h = block.call(h, {}) as tf.Tensor)); // (B, L, D)
    return out;
  }

  /** The cache before the first token: one zero cache per layer. */
  emptyCache(batch: number): C[] {
    return this.blocks.map((block) => block.emptyCache(batch));
  }

  /** One decoding step through every block: x (B, D) → (B, D), and the next cache (one per layer). Does not dispose `cache`. */
  step(x: tf.Tensor, cache: C[]): { y: tf.Tensor2D; cache: C[] } {
    if (!Array.isArray(cache) || cache.length !== this.blocks.length) {
      throw new Error(`${this.getClassName()}.step: expected a cache of ${this.blocks.length} layers, got ${Array.isArray(cache) ? cache.length : typeof cache}`);
    }
    return tf.tidy(() => {
      let h = x as tf.Tensor2D; // (B, D)
      const next = this.blocks.map((block, i) => {
        const out = block.step(h, cache[i]); // (B, D)
        h = out.y;
        return out.cache;
      });
      return { y: h, cache: next };
    });
  }

  /**
   * The parallel forward over a prompt, x (B, L, D) → (B, L, D) (equal to `call`), and the cache after it.
   * @param mask (B, L) optional, 1 for tokens and 0 for padding: padding leaves no trace in the cache
   */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: C[] } {
    checkLastDim(x, this.config.dModel, `${this.getClassName()}.prefill`);
    return tf.tidy(() => {
      let h = x as tf.Tensor3D; // (B, L, D)
      const cache = this.blocks.map((block) => {
        const out = block.prefill(h, mask); // (B, L, D)
        h = out.y;
        return out.cache;
      });
      return { y: h, cache };
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...this.configForSave(), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
