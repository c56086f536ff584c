/**
 * ResidualBlock: x + mixer(rmsnorm(x)).
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { ParentLayer, weightPrefixOf, weightPrefixConfig } from './parentLayer';
import { MambaBlock, MambaBlockArgs } from './mambaBlock';
import { RMSNorm } from './rmsNorm';
import { configForSave } from './config';

export type ResidualBlockArgs = MambaBlockArgs;

export class ResidualBlock extends ParentLayer {
  static className = 'ResidualBlock';
  readonly weightPrefix: string;
  readonly norm: RMSNorm;
  readonly mixer: MambaBlock;

  constructor(args: ResidualBlockArgs) {
    super(args);
    this.weightPrefix = weightPrefixOf(args, this.name);
    const { name: _n, inputShape: _i, batchInputShape: _b, weights: _w, ...blockArgs } = args;
    this.mixer = new MambaBlock({ ...blockArgs, weightPrefix: `${this.weightPrefix}mixer.` });
    this.norm = new RMSNorm({ dModel: this.mixer.config.dModel, eps: this.mixer.config.normEps, weightPrefix: `${this.weightPrefix}norm.` });
    this.built = true;
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

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...configForSave(this.mixer.config), ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(ResidualBlock);
