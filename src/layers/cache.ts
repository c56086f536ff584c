/**
 * The recurrent cache of a Mamba stack: per layer, what one decoding step needs from the past.
 *
 * Shape letters: B batch, K conv width, ED inner channels, N state size.
 *
 *   conv (B, K−1, ED): the last K−1 inputs of the causal conv (before the conv, after in_proj), oldest first;
 *   ssm  (B, ED, N):   the state h of the selective scan after the last step.
 *
 * Porting note: mamba.py keeps the conv inputs as (B, ED, K−1); we keep (B, K−1, ED), the layout of our conv
 * weight (K, ED), so that a step is one concat, one multiply and one sum over axis 1, with no transposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedMambaConfig } from './config';

/** The cache of one MambaBlock (a type, not an interface, so that tf.tidy may return it). */
export type MambaBlockCache = {
  /** (B, K−1, ED) the last K−1 conv inputs, oldest first (zeros before the start). */
  conv: tf.Tensor3D;
  /** (B, ED, N) the selective scan's state. */
  ssm: tf.Tensor3D;
};

/** The cache of a stack: one MambaBlockCache per layer. */
export type MambaCache = MambaBlockCache[];

/** A cache of zeros: the state before the first token. */
export function emptyBlockCache(batch: number, c: ResolvedMambaConfig): MambaBlockCache {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`Mamba cache: expected a positive integer batch, got ${batch}`);
  return {
    conv: tf.zeros([batch, c.dConv - 1, c.dInner]) as tf.Tensor3D, // (B, K−1, ED)
    ssm: tf.zeros([batch, c.dInner, c.dState]) as tf.Tensor3D, // (B, ED, N)
  };
}

/** Throws unless `cache` fits a block of config `c` at batch `batch`. */
export function checkBlockCache(cache: MambaBlockCache | undefined, batch: number, c: ResolvedMambaConfig, what: string): void {
  if (!cache || !cache.conv || !cache.ssm) throw new Error(`${what}: expected a cache {conv, ssm}, got ${String(cache)}`);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  const conv = [batch, c.dConv - 1, c.dInner];
  const ssm = [batch, c.dInner, c.dState];
  if (!same(cache.conv.shape, conv)) throw new Error(`${what}: expected conv cache of shape [${conv}], got [${cache.conv.shape}]`);
  if (!same(cache.ssm.shape, ssm)) throw new Error(`${what}: expected ssm cache of shape [${ssm}], got [${cache.ssm.shape}]`);
}

/** Dispose every tensor of a cache (a block's or a stack's). */
export function disposeCache(cache: MambaBlockCache | MambaCache): void {
  const blocks = Array.isArray(cache) ? cache : [cache];
  for (const b of blocks) tf.dispose([b.conv, b.ssm]);
}
