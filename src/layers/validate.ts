/**
 * Input checks that give an Error naming what was expected and what came.
 */
import * as tf from '@tensorflow/tfjs-core';

/** x must be (B, L, D) with the given D. */
export function checkLastDim(x: tf.Tensor, d: number, layer: string): void {
  if (x.rank !== 3) throw new Error(`${layer}: expected input of rank 3 (batch, length, ${d}), got shape [${x.shape}]`);
  if (x.shape[2] !== d) throw new Error(`${layer}: expected last dimension ${d}, got ${x.shape[2]} (shape [${x.shape}])`);
}

/** Token ids must be (B, L) integers in [0, vocab). Reads the ids (they are small). */
export function checkTokenIds(ids: tf.Tensor, vocab: number, layer: string): void {
  if (ids.rank !== 2) throw new Error(`${layer}: expected token ids of rank 2 (batch, length), got shape [${ids.shape}]`);
  const values = ids.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) {
      throw new Error(`${layer}: expected integer token ids, got ${v} at flat index ${i} (dtype ${ids.dtype})`);
    }
    if (v < 0 || v >= vocab) {
      throw new Error(`${layer}: expected token ids in [0, ${vocab}), got ${v} at flat index ${i}`);
    }
  }
}
