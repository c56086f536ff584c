/**
 * Mamba2ResidualBlock, x + Mamba2Block(rmsnorm(x)), and Mamba2, a stack of nLayers of them: (B, L, D) → (B, L, D).
 * Usable in tf.sequential (`mamba2Layer({dModel, nLayers, inputShape: [null, dModel]})`) or as Mamba2LM's backbone.
 *
 * Shape letters: B batch, L length, D model width.
 */
import { serialization } from '@tensorflow/tfjs-core';
import { NamedWeightsArgs } from '../parentLayer';
import { ResidualBase, StackBase } from '../stackBase';
import { Mamba2Block, Mamba2BlockArgs, Mamba2BlockCache } from './mamba2Block';
import { Mamba2Config, ResolvedMamba2Config, mamba2ConfigForSave, resolveMamba2Config } from './config';

/** One Mamba-2 residual block: x + mixer(rmsnorm(x)). */
export class Mamba2ResidualBlock extends ResidualBase<Mamba2Block, Mamba2BlockCache, Mamba2BlockArgs> {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2ResidualBlock';

  constructor(args: Mamba2BlockArgs) {
    super(args, (mixerArgs) => new Mamba2Block(mixerArgs));
  }

  protected mixerConfigForSave(): serialization.ConfigDict {
    return mamba2ConfigForSave(this.mixer.config);
  }
}
serialization.registerClass(Mamba2ResidualBlock);

/** Arguments of the Mamba-2 stack: the Mamba-2 config plus tf.layers' own. */
export interface Mamba2Args extends NamedWeightsArgs, Mamba2Config {}

/** A stack of Mamba-2 residual blocks, (B, L, D) → (B, L, D); use it in tf.sequential through mamba2Layer. */
export class Mamba2 extends StackBase<ResolvedMamba2Config, Mamba2ResidualBlock, Mamba2BlockCache> {
  /** The class name tfjs-layers serializes this layer under. */
  static className = 'Mamba2';

  constructor(args: Mamba2Args) {
    super(args, resolveMamba2Config(args), (blockArgs) => new Mamba2ResidualBlock(blockArgs));
  }

  /** The config as getConfig saves it. */
  configForSave(): serialization.ConfigDict {
    return mamba2ConfigForSave(this.config);
  }
}
serialization.registerClass(Mamba2);
