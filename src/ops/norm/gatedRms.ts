/**
 * Mamba-2's gated RMS norm: RMSNorm(y · silu(z)) · weight, over all channels or per group of channels.
 *
 * Shape glossary:
 *   ED inner channels (the last axis), G norm groups (G divides ED), ED/G channels per group
 *
 * Porting note: HF transformers' Mamba2 normalizes over all ED channels (G = 1); mamba_ssm's Mamba2 normalizes
 * each group of ED/G channels by itself (its RMSNormGated with group_size = ED / ngroups). The two agree when
 * ngroups is 1, as in every released mamba2 checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';
import { silu } from '../activations/silu';
import { rmsNormalize } from './rms';

/**
 * y, z (…, ED), weight (ED) → RMSNorm(y · silu(z)) · weight (…, ED), each of `groups` consecutive slices of ED/G
 * channels normalized by itself.
 */
export function gatedRmsNorm(y: tf.Tensor, z: tf.Tensor, weight: tf.Tensor, eps: number, groups = 1): tf.Tensor {
  const ed = y.shape[y.rank - 1];
  if (!Number.isInteger(groups) || groups < 1 || ed % groups !== 0) {
    throw new Error(`gatedRmsNorm: expected groups to be a positive integer dividing the ${ed} channels, got ${groups}`);
  }
  return tf.tidy(() => {
    const g = tf.mul(y, silu(z)); // (…, ED)
    const lead = g.shape.slice(0, -1);
    const normed = groups === 1
      ? rmsNormalize(g, eps) // (…, ED)
      : tf.reshape(rmsNormalize(tf.reshape(g, [...lead, groups, ed / groups]), eps), g.shape); // (…, G, ED/G) → (…, ED)
    return tf.mul(normed, weight); // (…, ED)
  });
}
