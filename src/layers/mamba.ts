/**
 * Mamba: a stack of nLayers residual blocks, (B, L, D) → (B, L, D). Usable on its own in tf.sequential
 * (`mambaLayer({dModel, nLayers, inputShape: [null, dModel]})`) or as MambaLM's backbone.
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, ParentLayer, weightPrefixOf, weightPrefixConfig } from './parentLayer';
import { ResidualBlock } from './residualBlock';
import { MambaConfig, ResolvedMambaConfig, configForSave, resolveMambaConfig } from './config';
import { checkLastDim } from './validate';
import { noteTrainingCall } from '../training/cpuHint';
import type { MambaBlockCache, MambaCache } from './cache';

/** Arguments of the Mamba stack: mamba.py's MambaConfig fields plus tf.layers' own. */
export interface MambaArgs extends NamedWeightsArgs, MambaConfig {}

/** Seed of layer i, derived from the stack's seed so that layers differ. */
export function layerSeed(seed: number | undefined, i: number): number | undefined {
  return seed == null ? undefined : seed * 1009 + i * 7919 + 1;
}

/** A stack of nLayers residual blocks as a tf.layers layer, (B, L, D) → (B, L, D). */
export class Mamba extends ParentLayer {
  /** Name under which tfjs serializes the layer. */
  static className = 'Mamba';
  /** The config with every default filled in. */
  readonly config: ResolvedMambaConfig;
  /** Prefix of the weight names (`backbone.` inside a MambaLM). */
  readonly weightPrefix: string;
  /** The residual blocks, in order. */
  readonly blocks: ResidualBlock[];

  constructor(args: MambaArgs) {
    super(args);
    this.config = resolveMambaConfig(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    this.blocks = Array.from({ length: this.config.nLayers }, (_, i) =>
      new ResidualBlock({ ...this.config, seed: layerSeed(this.config.seed, i), weightPrefix: `${this.weightPrefix}layers.${i}.` }),
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
      throw new Error(`Mamba: expected input shape [batch, length, ${this.config.dModel}], got [${s}]`);
    }
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    checkLastDim(x, this.config.dModel, 'Mamba');
    noteTrainingCall(kwargs.training); // one hint per process when training on 'cpu' without the wasm package
    return tf.tidy(() => this.blocks.reduce((h, block) => block.call(h, kwargs) as tf.Tensor, x)); // (B, L, D)
  }

  /** The residual stream after each block: nLayers tensors (B, L, D). The caller disposes them. */
  hiddenStates(x: tf.Tensor): tf.Tensor[] {
    checkLastDim(x, this.config.dModel, 'Mamba');
    const out: tf.Tensor[] = [];
    let h = x;
    for (const block of this.blocks) {
      h = block.call(h, {}) as tf.Tensor; // (B, L, D)
      out.push(h);
    }
    return out;
  }

  /** The cache before the first token: one zero cache per layer. */
  emptyCache(batch: number): MambaCache {
    return this.blocks.map((block) => block.emptyCache(batch));
  }

  /** Throws unless `cache` has one entry per layer. */
  private checkCacheLength(cache: MambaCache, what: string): void {
    if (!Array.isArray(cache) || cache.length !== this.blocks.length) {
      throw new Error(`${what}: expected a cache of ${this.blocks.length} layers, got ${Array.isArray(cache) ? cache.length : typeof cache}`);
    }
  }

  /**
   * One decoding step through every block: x (B, D) → (B, D), and the next cache (one per layer).
   * Does not dispose `cache`.
   */
  step(x: tf.Tensor, cache: MambaCache): { y: tf.Tensor2D; cache: MambaCache } {
    this.checkCacheLength(cache, 'Mamba.step');
    return tf.tidy(() => {
      let h = x as tf.Tensor2D; // (B, D)
      const next: MambaBlockCache[] = [];
      this.blocks.forEach((block, i) => {
        const out = block.step(h, cache[i]); // (B, D)
        h = out.y;
        next.push(out.cache);
      });
      return { y: h, cache: next };
    });
  }

  /**
   * The parallel forward over a prompt, x (B, L, D) → (B, L, D) (equal to `call`), and the cache after it.
   * @param mask (B, L) optional, 1 for tokens and 0 for padding: padding leaves no trace in the cache
   */
  prefill(x: tf.Tensor, mask?: tf.Tensor): { y: tf.Tensor3D; cache: MambaCache } {
    checkLastDim(x, this.config.dModel, 'Mamba.prefill');
    return tf.tidy(() => {
      let h = x as tf.Tensor3D; // (B, L, D)
      const caches: MambaBlockCache[] = [];
      for (const block of this.blocks) {
        const out = block.prefill(h, mask); // (B, L, D)
        h = out.y;
        caches.push(out.cache);
      }
      return { y: h, cache: caches };
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...configForSave(this.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(Mamba);
