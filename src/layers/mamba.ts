/**
 * Mamba: a stack of nLayers residual blocks, (B, L, D) → (B, L, D). Usable on its own in tf.sequential
 * (`mambaLayer({dModel, nLayers, inputShape: [null, dModel]})`) or as MambaLM's backbone.
 *
 * Shape letters: B batch, L length, D model width.
 */
import { serialization } from '@tensorflow/tfjs-core';
import { NamedWeightsArgs } from './parentLayer';
import { ResidualBlock } from './residualBlock';
import { StackBase } from './stackBase';
import { MambaConfig, ResolvedMambaConfig, configForSave, resolveMambaConfig } from './config';
import type { MambaBlockCache } from './cache';

export { layerSeed } from './stackBase';

/** Arguments of the Mamba stack: mamba.py's MambaConfig fields plus tf.layers' own. */
export interface MambaArgs extends NamedWeightsArgs, MambaConfig {}

/** A stack of nLayers residual blocks as a tf.layers layer, (B, L, D) → (B, L, D). */
export class Mamba extends StackBase<ResolvedMambaConfig, ResidualBlock, MambaBlockCache> {
  /** Name under which tfjs serializes the layer. */
  static className = 'Mamba';

  constructor(args: MambaArgs) {
    super(args, resolveMambaConfig(args), (blockArgs) => new ResidualBlock(blockArgs));
  }

  /** The config as getConfig saves it. */
  configForSave(): serialization.ConfigDict {
    return configForSave(this.config);
  }
}
serialization.registerClass(Mamba);
