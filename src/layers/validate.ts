/**
 * Input checks that give an Error naming what was expected and what came.
 *
 * Empty inputs (batch 0 or length 0) are refused: the scan paths disagreed on them (the fused kernel returned
 * an empty output, pscan failed deep inside with an unrelated message), so every layer now says so up front.
 * NaN and ±Infinity in float inputs are not checked (that would cost a device read per call); they propagate
 * causally (see docs/limits.md).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Batch and length (the first two axes) must both be at least 1. */
function checkNonEmpty(x: tf.Tensor, layer: string, what: string): void {
  if (x.shape[0] === 0 || x.shape[1] === 0) {
    throw new Error(`${layer}: expected ${what} with batch >= 1 and length >= 1, got shape [${x.shape}] (empty inputs are not supported)`);
  }
}

/** x must be (B, L, D) with the given D, and B, L ≥ 1. */
export function checkLastDim(x: tf.Tensor, d: number, layer: string): void {
  if (x.rank !== 3) throw new Error(`${layer}: expected input of rank 3 (batch, length, ${d}), got shape [${x.shape}]`);
  if (x.shape[2] !== d) throw new Error(`${layer}: expected last dimension ${d}, got ${x.shape[2]} (shape [${x.shape}])`);
  checkNonEmpty(x, layer, 'an input');
}

/** Backends whose tensors live in host memory, where reading the ids is a cheap copy. */
export const HOST_MEMORY_BACKENDS: ReadonlySet<string> = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * Token ids must be (B, L), B, L ≥ 1, integers in [0, vocab) (vocab: the padded vocabulary, so the padding
 * rows' ids pass). Reads the ids (they are small) on host-memory backends only. NaN and fractional ids are refused here; note that a model
 * from createMambaLM declares int32 ids, and tfjs-layers casts float feeds to int32 before this layer sees them.
 */
export function checkTokenIds(ids: tf.Tensor, vocab: number, layer: string): void {
  if (ids.rank !== 2) throw new Error(`${layer}: expected token ids of rank 2 (batch, length), got shape [${ids.shape}]`);
  checkNonEmpty(ids, layer, 'token ids');
  // Porting note: on GPU backends the values are not read: that would be a synchronous GPU readback on every
  // forward pass (in Chromium's WebGPU it lost the device from the second training step). There, ids out of range
  // gather zero rows, as tf.gather does on those backends.
  if (!HOST_MEMORY_BACKENDS.has(tf.getBackend())) return;
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
