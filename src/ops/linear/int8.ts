/**
 * The int8 weight ops: a dense projection and an embedding lookup over weights quantized by rows (words (O, RB/4)
 * int32 + scales (O); see ops/kernels/js/int8Math.ts), run by the MambaInt8MatMul / MambaInt8Gather kernels
 * (cpu, wasm). Activations are float32 in and out.
 *
 * Shape letters: B batch, L length, I inputs, O outputs, V vocabulary, D model width, RB = I rounded up to 4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { INT8_GATHER_KERNEL, INT8_MATMUL_KERNEL } from '../kernels/names';

/** Throws one line unless the active backend has `kernel`. */
function needKernel(kernel: string, what: string): void {
  const backend = tf.getBackend();
  if (tf.getKernel(kernel, backend) == null) {
    throw new Error(`${what}: int8 weights run on the cpu and wasm backends, got backend '${backend}' (select cpu or wasm)`);
  }
}

/** x (B, L, I) · dequant(q)ᵀ [+ bias (O)] → (B, L, O); q (O, RB/4) int32, scale (O). */
export function int8Linear(x: tf.Tensor, q: tf.Tensor, scale: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  needKernel(INT8_MATMUL_KERNEL, 'int8Linear');
  return tf.tidy(() => {
    const [b, l, i] = x.shape as number[];
    const o = q.shape[0];
    const flat = tf.reshape(x.dtype === 'float32' ? x : tf.cast(x, 'float32'), [b * l, i]); // (B·L, I) (a cast of float32 copies)
    const inputs: tf.NamedTensorMap = { x: flat, q, scale, ...(bias ? { bias } : {}) };
    const y = tf.engine().runKernel(INT8_MATMUL_KERNEL, inputs as never) as tf.Tensor; // (B·L, O)
    return tf.reshape(y, [b, l, o]); // (B, L, O)
  });
}

/** (M, I) · dequant(q)ᵀ → (M, O): the 2-d product (the head). */
export function int8MatMul2d(x: tf.Tensor, q: tf.Tensor, scale: tf.Tensor): tf.Tensor2D {
  needKernel(INT8_MATMUL_KERNEL, 'int8MatMul2d');
  return tf.engine().runKernel(INT8_MATMUL_KERNEL, { x, q, scale } as never) as tf.Tensor2D; // (M, O)
}

/** Rows of a quantized embedding: ids (B, L) → (B, L, D); q (V, RB/4) int32, scale (V). */
export function int8Gather(ids: tf.Tensor, q: tf.Tensor, scale: tf.Tensor, d: number): tf.Tensor {
  needKernel(INT8_GATHER_KERNEL, 'int8Gather');
  return tf.tidy(() => {
    const flat = tf.reshape(ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32'), [-1]); // (B·L)
    const rows = tf.engine().runKernel(INT8_GATHER_KERNEL, { ids: flat, q, scale } as never, { cols: d } as never) as tf.Tensor; // (B·L, D)
    return tf.reshape(rows, [...ids.shape, d]); // (B, L, D)
  });
}
