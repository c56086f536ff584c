/**
 * A tf.layers.Layer that holds sub-layers and exposes their weights as its own, so that a model's
 * trainableWeights, save/load, getWeights/setWeights and dispose see every variable.
 */
import { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';

/** Options every mamba-tfjs layer takes besides tf.layers' own. */
export interface NamedWeightsArgs extends LayerArgs {
  /**
   * Prefix of this layer's weight names. Names follow the HuggingFace checkpoint keys
   * (`backbone.layers.0.mixer.in_proj.weight`), so a state dict maps by name. Default: `<layer name>/`.
   */
  weightPrefix?: string;
}

/** Porting note: torch modules register sub-modules automatically; tfjs layers must list them by hand. */
export abstract class ParentLayer extends layers.Layer {
  /** Sub-layers whose weights this layer exposes (in order). */
  protected abstract subLayers(): layers.Layer[];

  /** This layer's trainable weights, then its sub-layers' (none when not trainable). */
  override get trainableWeights(): LayerVariable[] {
    if (!this.trainable) return [];
    return [...super.trainableWeights, ...this.subLayers().flatMap((l) => l.trainableWeights)];
  }

  /** Sets this layer's own trainable weights (tf.layers' setter). */
  override set trainableWeights(weights: LayerVariable[]) {
    super.trainableWeights = weights;
  }

  /** This layer's non-trainable weights, then its sub-layers' (all of theirs when this layer is not trainable). */
  override get nonTrainableWeights(): LayerVariable[] {
    const own = super.nonTrainableWeights;
    const sub = this.subLayers().flatMap((l) => (this.trainable ? l.nonTrainableWeights : l.weights));
    return [...own, ...sub];
  }

  /** Sets this layer's own non-trainable weights (tf.layers' setter). */
  override set nonTrainableWeights(weights: LayerVariable[]) {
    super.nonTrainableWeights = weights;
  }
}

/** The prefix a layer names its weights with. */
export function weightPrefixOf(args: NamedWeightsArgs, layerName: string): string {
  return args.weightPrefix ?? `${layerName}/`;
}

/**
 * The weightPrefix entry of a layer's config: absent when it is the default `<name>/` (the name survives
 * saving as it is; other strings are snake-cased by tfjs), else the prefix.
 */
export function weightPrefixConfig(prefix: string, layerName: string): { weightPrefix?: string } {
  if (prefix === `${layerName}/`) return {};
  if (/[A-Z]/.test(prefix)) {
    // tfjs snake-cases every string value of a saved config (all but `name`), so capitals would not survive.
    throw new Error(`weightPrefix: expected no capital letters in a saved layer's prefix, got "${prefix}"`);
  }
  return { weightPrefix: prefix };
}
