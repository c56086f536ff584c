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

/** Arguments of the Mamba stack: mamba.py's MambaConfig fields plus tf.layers' own. */
export interface MambaArgs extends NamedWeightsArgs, MambaConfig {}

/** Seed of layer i, derived from the stack's seed so that layers differ. */
export function layerSeed(seed: number | undefined, i: number): number | undefined {
  return seed == null ? undefined : seed * 1009 + i * 7919 + 1;
}

export class Mamba extends ParentLayer {
  static className = 'Mamba';
  readonly config: ResolvedMambaConfig;
  readonly weightPrefix: string;
  readonly blocks: ResidualBlock[];

  constructor(args: MambaArgs) {
    super(args);
    this.config = resolveMambaConfig(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    this.blocks = Array.from({ length: this.config.nLayers }, (_, i) =>
      new ResidualBlock({ ...this.config, seed: layerSeed(this.config.seed, i), weightPrefix: `${this.weightPrefix}layers.${i}.` }),
    );
    this.built = true;
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

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...configForSave(this.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(Mamba);
