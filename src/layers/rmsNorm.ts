/**
 * RMSNorm: y = x / √(mean(x²) + eps) · weight, over the last axis.
 *
 * Shape letters: B batch, L length, D model width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { Shape } from '@tensorflow/tfjs-layers';
import { NamedWeightsArgs, weightPrefixOf, weightPrefixConfig } from './parentLayer';
import { constant } from './initializers';
import { checkLastDim } from './validate';
import { mixerStepAvailable } from '../ops/kernels/mixerStep';
import { RMS_NORM_STEP_KERNEL } from '../ops/kernels/names';
import { fusedStepEnabled } from '../flags';

/** Arguments of {@link RMSNorm}. */
export interface RMSNormArgs extends NamedWeightsArgs {
  /** Size of the normalized (last) axis. */
  dModel: number;
  /** Added to the mean square before the root (default 1e-5). */
  eps?: number;
}

/** RMSNorm as a tf.layers layer: x / √(mean(x²) + eps) · weight over the last axis, (B, L, D) → (B, L, D). */
export class RMSNorm extends layers.Layer {
  /** Name under which tfjs serializes the layer. */
  static className = 'RMSNorm';
  /** Size of the normalized (last) axis. */
  readonly dModel: number;
  /** Added to the mean square before the root. */
  readonly eps: number;
  /** Prefix of this layer's weight names (`…norm.` gives `…norm.weight`). */
  readonly weightPrefix: string;
  /** The scale, (D). */
  readonly weight: LayerVariable; // (D)

  constructor(args: RMSNormArgs) {
    super(args);
    this.dModel = args.dModel;
    this.eps = args.eps ?? 1e-5;
    this.weightPrefix = weightPrefixOf(args, this.name);
    // Weights are made here, outside tfjs's name scope, so their names are exactly the checkpoint keys.
    this.weight = this.addWeight(`${this.weightPrefix}weight`, [this.dModel], 'float32', constant(1));
  }

  override build(): void {
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs = {}): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // (B, L, D)
    checkLastDim(x, this.dModel, 'RMSNorm');
    return tf.tidy(() => {
      const ms = tf.mean(tf.square(x), -1, true); // (B, L, 1)
      return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, this.eps))), this.weight.read()); // (B, L, D)
    });
  }

  /**
   * The norm of a decoding step's rows, x (B, D) → (B, D): one MambaRmsNormStep kernel on wasm (when
   * MAMBA_TFJS_FUSED_STEP is on), else `call`.
   */
  step(x: tf.Tensor): tf.Tensor2D {
    const [b, d] = x.shape;
    if (fusedStepEnabled() && mixerStepAvailable()) {
      return tf.engine().runKernel(RMS_NORM_STEP_KERNEL, { x, weight: this.weight.read() } as never, { eps: this.eps } as never) as tf.Tensor2D; // (B, D)
    }
    return tf.tidy(() => tf.reshape(this.call(tf.reshape(x, [b, 1, d])), [b, d]) as tf.Tensor2D); // (B, D)
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), dModel: this.dModel, eps: this.eps, ...weightPrefixConfig(this.weightPrefix, this.name) };
  }
}
serialization.registerClass(RMSNorm);
