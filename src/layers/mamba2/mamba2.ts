/**
 * Mamba2ResidualBlock, x + Mamba2Block(rmsnorm(x)), and Mamba2, a stack of nLayers of them: (B, L, D) → (B, L, D).
 * Usable in tf.sequential (`mamba2Layer({dModel, nLayers, inputShape: [null, dModel]})`) or as Mamba2LM's backbone.
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, ParentLayer, weightPrefixOf, weightPrefixConfig } from '../parentLayer';
import { RMSNorm } from '../rmsNorm';
import { checkLastDim } from '../validate';
import { layerSeed } from '../mamba';
import { Mamba2Block, Mamba2BlockArgs, Mamba2BlockCache } from './mamba2Block';
import { Mamba2Config, ResolvedMamba2Config, mamba2ConfigForSave, resolveMamba2Config } from './config';

/** One Mamba-2 residual block: x + mixer(rmsnorm(x)). */
export class Mamba2ResidualBlock extends ParentLayer {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2ResidualBlock';
  /** Prefix of this layer's weight names (the checkpoint keys). */
  readonly weightPrefix: string;
  /** The RMS norm before the mixer. */
  readonly norm: RMSNorm;
  /** The Mamba-2 mixer. */
  readonly mixer: Mamba2Block;

  constructor(args: Mamba2BlockArgs) {
    super(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    const { name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...blockArgs } = args;
    this.mixer = new Mamba2Block({ ...blockArgs, weightPrefix: `${this.weightPrefix}mixer.` });
    this.norm = new RMSNorm({ dModel: this.mixer.config.dModel, eps: this.mixer.config.normEps, weightPrefix: `${this.weightPrefix}norm.` });
  }

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

  /** One recurrent decoding step. */
  step(x: tf.Tensor, cache: Mamba2BlockCache): { y: tf.Tensor2D; cache: Mamba2BlockCache } {
    const d = this.mixer.config.dModel;
    return tf.tidy(() => {
      const [b] = x.shape;
      const normed = tf.reshape(this.norm.call(tf.reshape(x, [b, 1, d]), {}) as tf.Tensor, [b, d]); // (B, D)
      const out = this.mixer.step(normed, cache); // (B, D)
      return { y: tf.add(x, out.y) as tf.Tensor2D, cache: out.cache };
    });
  }

  /** Runs a prompt and returns the outputs and the cache after it. */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: Mamba2BlockCache } {
    return tf.tidy(() => {
      const out = this.mixer.prefill(this.norm.call(x, {}) as tf.Tensor, mask); // (B, L, D)
      return { y: tf.add(x, out.y) as tf.Tensor3D, cache: out.cache };
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mamba2ConfigForSave(this.mixer.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(Mamba2ResidualBlock);

export interface Mamba2Args extends NamedWeightsArgs, Mamba2Config {}

/** A stack of Mamba-2 residual blocks, (B, L, D) → (B, L, D); use it in tf.sequential through mamba2Layer. */
export class Mamba2 extends ParentLayer {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2';
  /** The resolved configuration (every default filled in). */
  readonly config: ResolvedMamba2Config;
  /** Prefix of this layer's weight names (the checkpoint keys). */
  readonly weightPrefix: string;
  /** The residual blocks, in order. */
  readonly blocks: Mamba2ResidualBlock[];

  constructor(args: Mamba2Args) {
    super(args);
    this.config = resolveMamba2Config(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    this.blocks = Array.from({ length: this.config.nLayers }, (_, i) =>
      new Mamba2ResidualBlock({ ...this.config, seed: layerSeed(this.config.seed, i), weightPrefix: `${this.weightPrefix}layers.${i}.` }),
    );
  }

  protected subLayers(): layers.Layer[] {
    return this.blocks;
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const s = inputShape as Shape;
    if (s.length !== 3 || (s[2] != null && s[2] !== this.config.dModel)) {
      throw new Error(`Mamba2: expected input shape [batch, length, ${this.config.dModel}], got [${s}]`);
    }
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    checkLastDim(x, this.config.dModel, 'Mamba2');
    return tf.tidy(() => this.blocks.reduce((h, block) => block.call(h, kwargs) as tf.Tensor, x)); // (B, L, D)
  }

  /** The residual stream after each block: nLayers tensors (B, L, D). The caller disposes them. */
  hiddenStates(x: tf.Tensor): tf.Tensor[] {
    const out: tf.Tensor[] = [];
    let h = x;
    for (const block of this.blocks) out.push((h = block.call(h, {}) as tf.Tensor));
    return out;
  }

  /** The decoding cache before the first token. */
  emptyCache(batch: number): Mamba2BlockCache[] {
    return this.blocks.map((b) => b.mixer.emptyCache(batch));
  }

  /** One decoding step through every block: x (B, D) → (B, D), and the next cache. Does not dispose `cache`. */
  step(x: tf.Tensor, cache: Mamba2BlockCache[]): { y: tf.Tensor2D; cache: Mamba2BlockCache[] } {
    if (!Array.isArray(cache) || cache.length !== this.blocks.length) {
      throw new Error(`Mamba2.step: expected a cache of ${this.blocks.length} layers, got ${Array.isArray(cache) ? cache.length : typeof cache}`);
    }
    return tf.tidy(() => {
      let h = x as tf.Tensor2D; // (B, D)
      const next = this.blocks.map((block, i) => {
        const out = block.step(h, cache[i]);
        h = out.y;
        return out.cache;
      });
      return { y: h, cache: next };
    });
  }

  /** The parallel forward over a prompt (B, L, D) → (B, L, D), and the cache after it. mask: (B, L). */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: Mamba2BlockCache[] } {
    checkLastDim(x, this.config.dModel, 'Mamba2.prefill');
    return tf.tidy(() => {
      let h = x as tf.Tensor3D; // (B, L, D)
      const cache = this.blocks.map((block) => {
        const out = block.prefill(h, mask);
        h = out.y;
        return out.cache;
      });
      return { y: h, cache };
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mamba2ConfigForSave(this.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(Mamba2);
