/**
 * 2-d matrix products whose gradients avoid tfjs-wasm's transposed products.
 *
 * Shape letters: M rows, K reduced axis, O columns.
 *
 * Porting note: torch's matmul backward is as fast as its forward. tfjs-wasm's BatchMatMul with
 * transposeA / transposeB set is about ten times slower than without (measured: [1024,64]ᵀ×[1024,256] 14 ms
 * against 1.5 ms for the plain product), and tfjs's own matMul gradient sets them. On wasm, matMulTA/TB (and so
 * these ops' gradients) transpose explicitly (a cheap copy) and multiply plainly. On webgpu, transposed products
 * are slow in other ways (see matMulTA, matMulTB); other backends keep the flags.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * How many slices of K a webgpu aᵀ @ b for a (K, M), b (K, O) is split into (1: not split). tfjs-webgpu gives each
 * (32 × 32) output tile one workgroup that walks all of K, so a weight gradient (K = B·L rows, a small M × O) runs
 * on a few workgroups. GPU time on an H200 (benchmarks/webgpuMatmul.js, results/webgpu-matmul.json): K 32768, M 16,
 * O 512 took 2.45 ms whole and 0.23 ms in 64 slices; M 512, O 256: 1.08 ms whole, 0.48 ms in 16; M 256, O 1024:
 * 1.16 ms whole, 0.89 ms in 8; K 8192, M 256, O 1024: no gain (0.39 ms whole, 0.51 ms in 8).
 */
export function kSplit(k: number, m: number, o: number): number {
  if (k < 8192) return 1;
  const tiles = Math.ceil(m / 32) * Math.ceil(o / 32);
  let s = tiles <= 16 ? Math.min(64, Math.floor(k / 512)) : k < 16384 ? 1 : tiles <= 128 ? 16 : 8;
  while (s > 1 && k % s !== 0) s = Math.floor(s / 2);
  return s;
}

/**
 * aᵀ @ b for a (K, M), b (K, O) → (M, O). wasm: an explicit transpose and a plain product; webgpu: K in kSplit
 * slices, multiplied as a batch and summed (more workgroups); else tfjs's flag.
 */
export function matMulTA(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const [a2, b2] = [a as tf.Tensor2D, b as tf.Tensor2D];
  const backend = tf.getBackend();
  if (backend === 'wasm') return tf.matMul(tf.transpose(a2), b2);
  const [k, m] = a2.shape;
  const o = b2.shape[1];
  return matMulTASplit(a2, b2, backend === 'webgpu' ? kSplit(k, m, o) : 1);
}

/** aᵀ @ b for one a (K, M) and each b of `bs` (K, O_j) → (M, O_j) each: matMulTA, with a transposed once on wasm. */
export function matMulTAEach(a: tf.Tensor, bs: tf.Tensor[]): tf.Tensor2D[] {
  if (tf.getBackend() !== 'wasm') return bs.map((b) => matMulTA(a, b));
  return tf.tidy(() => {
    const at = tf.transpose(a as tf.Tensor2D); // (M, K)
    return bs.map((b) => tf.matMul(at, b as tf.Tensor2D)); // (M, O_j)
  });
}

/** aᵀ @ b for a (K, M), b (K, O) with K cut into `s` equal slices (s divides K), multiplied as a batch and summed. */
export function matMulTASplit(a: tf.Tensor2D, b: tf.Tensor2D, s: number): tf.Tensor2D {
  const [k, m] = a.shape;
  const o = b.shape[1];
  if (!(Number.isInteger(s) && s >= 1 && k % s === 0)) throw new Error(`matMulTASplit: expected a slice count dividing K ${k}, got ${s}`);
  if (s === 1) return tf.matMul(a, b, true, false);
  return tf.tidy(() => tf.sum(tf.matMul(tf.reshape(a, [s, k / s, m]), tf.reshape(b, [s, k / s, o]), true, false), 0)); // (S, M, O) → (M, O)
}

/**
 * a @ bᵀ for a (M, K), b (O, K) → (M, O). wasm, and webgpu when M·K·O ≥ 2²⁷: an explicit transpose of b
 * and a plain product (GPU time on an H200: (32768, 1024) @ (256, 1024)ᵀ took 4.65 ms with tfjs's flag, 2.14 ms with b
 * transposed first; (4096, 64) @ (16, 64)ᵀ: 0.040 ms with the flag, 0.053 ms transposed first; results/webgpu-matmul.json);
 * else tfjs's flag.
 */
export function matMulTB(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const [a2, b2] = [a as tf.Tensor2D, b as tf.Tensor2D];
  return transposesFirst(a2, b2) ? tf.tidy(() => tf.matMul(a2, tf.transpose(b2))) : tf.matMul(a2, b2, false, true);
}

/**
 * Whether matMulTB transposes b first: on wasm always; on webgpu where the product is large enough to repay the
 * transpose's own dispatch (tens of µs of host time).
 */
function transposesFirst(a: tf.Tensor2D, b: tf.Tensor2D): boolean {
  const backend = tf.getBackend();
  return backend === 'wasm' || (backend === 'webgpu' && a.shape[0] * a.shape[1] * b.shape[0] >= 2 ** 27);
}

/**
 * a @ b (transposeB: a @ bᵀ) + c for c broadcastable to the product, as one _FusedMatMul kernel (no gradient: for
 * hand-written backward passes; tf.fused.matMul would wrap it in a customGrad) on webgpu, where the addition rides in
 * the product's epilogue instead of a dispatch of its own; a product and an add elsewhere.
 */
function fusedAdd(a: tf.Tensor2D, b: tf.Tensor2D, c: tf.Tensor, transposeB: boolean): tf.Tensor2D {
  // Elsewhere a product and an add: no dispatch to save, and the same arithmetic as before.
  if (tf.getBackend() !== 'webgpu') return tf.tidy(() => tf.add(tf.matMul(a, b, false, transposeB), c) as tf.Tensor2D);
  return tf.tidy(() => {
    const [m, o] = [a.shape[0], transposeB ? b.shape[0] : b.shape[1]];
    const inputs = { a: tf.reshape(a, [1, ...a.shape]), b: tf.reshape(b, [1, ...b.shape]), bias: c }; // (1, M, K), (1, K, O) or (1, O, K)
    const out = tf.engine().runKernel('_FusedMatMul', inputs as unknown as tf.NamedTensorMap, { transposeA: false, transposeB, activation: 'linear' }) as tf.Tensor; // (1, M, O)
    return tf.reshape(out, [m, o]) as tf.Tensor2D; // (M, O)
  });
}

/** a @ b + c for a (M, K), b (K, O), c broadcastable to (M, O), in one kernel. */
export function matMulAdd(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor2D {
  return fusedAdd(a as tf.Tensor2D, b as tf.Tensor2D, c, false);
}

/** a @ bᵀ + c for a (M, K), b (O, K), c broadcastable to (M, O): {@link matMulAdd} with matMulTB's choice of layout. */
export function matMulTBAdd(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor2D {
  const [a2, b2] = [a as tf.Tensor2D, b as tf.Tensor2D];
  if (!transposesFirst(a2, b2)) return fusedAdd(a2, b2, c, true);
  return tf.tidy(() => fusedAdd(a2, tf.transpose(b2), c, false));
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
