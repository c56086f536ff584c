/**
 * 2-d matrix products whose gradients avoid tfjs-wasm's transposed products.
 *
 * Shape letters: M rows, K reduced axis, O columns.
 *
 * Porting note: torch's matmul backward is as fast as its forward. tfjs-wasm's BatchMatMul with
 * transposeA / transposeB set is about ten times slower than without (measured: [1024,64]ᵀ×[1024,256] 14 ms
 * against 1.5 ms for the plain product), and tfjs's own matMul gradient sets them. On wasm, matMulTA/TB (and so
 * these ops' gradients) transpose explicitly (a cheap copy) and multiply plainly; other backends keep the flags.
 */
import * as tf from '@tensorflow/tfjs-core';

/** aᵀ @ b for a (K, M), b (K, O) → (M, O): on wasm an explicit transpose and a plain product, else tfjs's flag. */
export function matMulTA(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const [a2, b2] = [a as tf.Tensor2D, b as tf.Tensor2D];
  return tf.getBackend() === 'wasm' ? tf.matMul(tf.transpose(a2), b2) : tf.matMul(a2, b2, true, false);
}

/** a @ bᵀ for a (M, K), b (O, K) → (M, O): on wasm an explicit transpose and a plain product, else tfjs's flag. */
export function matMulTB(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const [a2, b2] = [a as tf.Tensor2D, b as tf.Tensor2D];
  return tf.getBackend() === 'wasm' ? tf.matMul(a2, tf.transpose(b2)) : tf.matMul(a2, b2, false, true);
}

type Grad2 = (a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => { value: tf.Tensor2D; gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.Tensor[] };

const matMulOp = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b), // (M, O)
    gradFunc: (dy: tf.Tensor2D, [sa, sb]: tf.Tensor[]) => tf.tidy(() => [
      matMulTB(dy, sb), // (M, K) = (M, O) @ (O, K)
      matMulTA(sa, dy), // (K, O) = (K, M) @ (M, O)
    ]),
  };
}) as Grad2 as unknown as Parameters<typeof tf.customGrad>[0]);

const matMulBTOp = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: matMulTB(a, b), // (M, O) = (M, K) @ (K, O)
    gradFunc: (dy: tf.Tensor2D, [sa, sb]: tf.Tensor[]) => tf.tidy(() => [
      tf.matMul(dy, sb), // (M, K) = (M, O) @ (O, K)
      matMulTA(dy, sa), // (O, K) = (O, M) @ (M, K)
    ]),
  };
}) as Grad2 as unknown as Parameters<typeof tf.customGrad>[0]);

/** a (M, K) @ b (K, O) → (M, O). */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulOp(a, b) as tf.Tensor2D;
}

/** a (M, K) @ bᵀ for b (O, K) → (M, O): the tied LM head, logits = h · embeddingᵀ. */
export function matMulTransposeB(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulBTOp(a, b) as tf.Tensor2D;
}
