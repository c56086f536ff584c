/**
 * Factory functions in the style of tf.layers.*, and a ready-made functional MambaLM model.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { findLayer, lmModel } from './lmBase';
import { RMSNorm, RMSNormArgs } from './rmsNorm';
import { MambaBlock, MambaBlockArgs } from './mambaBlock';
import { ResidualBlock, ResidualBlockArgs } from './residualBlock';
import { Mamba, MambaArgs } from './mamba';
import { MambaLM, MambaLMArgs } from './mambaLM';

/** A Mamba stack, (B, L, D) → (B, L, D): `tf.sequential().add(mambaLayer({dModel, nLayers, inputShape: [null, dModel]}))`. */
export function mambaLayer(args: MambaArgs): Mamba {
  return new Mamba(args);
}

/** An RMS norm over the last axis. */
export function rmsNorm(args: RMSNormArgs): RMSNorm {
  return new RMSNorm(args);
}

/** One Mamba mixer (no norm, no residual). */
export function mambaBlock(args: MambaBlockArgs): MambaBlock {
  return new MambaBlock(args);
}

/** x + mixer(rmsnorm(x)). */
export function residualBlock(args: ResidualBlockArgs): ResidualBlock {
  return new ResidualBlock(args);
}

/** The language model layer: ids (B, L) → logits (B, L, V). */
export function mambaLMLayer(args: MambaLMArgs): MambaLM {
  return new MambaLM(args);
}

/**
 * A functional tf.LayersModel around MambaLM: int32 ids (B, L) of any length → logits (B, L, V).
 * Compile it with `lmLoss` and fit it on targets (B, L, 1).
 */
export function createMambaLM(args: MambaLMArgs): tfl.LayersModel {
  return lmModel(new MambaLM({ ...args, name: args.name ?? 'mamba_lm' }), 'MambaLMModel');
}

/** The MambaLM layer inside a model made by createMambaLM or loaded from one. */
export function findMambaLM(model: tfl.LayersModel): MambaLM {
  return findLayer(model, MambaLM);
}

