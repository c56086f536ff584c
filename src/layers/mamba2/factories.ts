/**
 * Mamba-2 factories in the style of tf.layers.*, and a ready-made functional Mamba2LM model.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { findLayer, lmModel } from '../lmBase';
import { Mamba2, Mamba2Args } from './mamba2';
import { Mamba2Block, Mamba2BlockArgs } from './mamba2Block';
import { Mamba2LM, Mamba2LMArgs } from './mamba2LM';

/** A Mamba-2 stack, (B, L, D) → (B, L, D): `tf.sequential().add(mamba2Layer({dModel, nLayers, inputShape: [null, dModel]}))`. */
export function mamba2Layer(args: Mamba2Args): Mamba2 {
  return new Mamba2(args);
}

/** One Mamba-2 mixer (no norm, no residual). */
export function mamba2Block(args: Mamba2BlockArgs): Mamba2Block {
  return new Mamba2Block(args);
}

/**
 * A functional tf.LayersModel around Mamba2LM: int32 ids (B, L) → logits (B, L, V). Compile it with `lmLoss`
 * and fit it on targets (B, L, 1).
 */
export function createMamba2LM(args: Mamba2LMArgs): tfl.LayersModel {
  return lmModel(new Mamba2LM({ ...args, name: args.name ?? 'mamba2_lm' }), 'Mamba2LMModel');
}

/** The Mamba2LM layer inside a model made by createMamba2LM or loaded from one. */
export function findMamba2LM(model: tfl.LayersModel): Mamba2LM {
  return findLayer(model, Mamba2LM);
}
