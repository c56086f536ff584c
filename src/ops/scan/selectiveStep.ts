/**
 * The selective scan one step at a time (decoding), and the state a whole sequence leaves behind (prefill).
 *
 * Shape letters: B batch, L length, ED inner channels, N state size.
 *
 *   h_t = exp(Δ_t·A) · h_{t−1} + Δ_t · B_t · x_t     (B, ED, N)
 *   y_t = h_t · C_t + D · x_t                         (B, ED)
 *
 * Porting note: tfjs's cpu backend broadcasts a size-1 axis element by element (~50x slower than its matMul),
 * so outer products such as Δ ⊗ A's rows and (Δ·x) ⊗ B are matMuls over a unit axis (exact: one product per
 * element), and elementwise products broadcast only over leading axes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedSelectiveStep, resolveStepImpl, StepImpl } from './fusedStep';

/**
 * One recurrent step.
 * @param h     (B, ED, N) the state after the previous step (zeros before the first)
 * @param x     (B, ED) input after the conv and silu
 * @param delta (B, ED) step sizes Δ (after softplus)
 * @param A     (ED, N) state matrix (negative)
 * @param B     (B, N) input projection
 * @param C     (B, N) output projection
 * @param D     (ED) skip connection
 * @param impl  'auto' (fused kernel on cpu/wasm, else tf ops), 'fused' or 'ops'
 * @returns y (B, ED) and the new state h (B, ED, N)
 */
export function selectiveStep(
  h: tf.Tensor, x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor,
  impl: StepImpl = 'auto',
): { y: tf.Tensor2D; h: tf.Tensor3D } {
  if (resolveStepImpl(impl) === 'fused') {
    const [y, next] = fusedSelectiveStep(h, x, delta, A, B, C, D);
    return { y, h: next };
  }
  return tf.tidy(() => {
    const [b, ed] = x.shape as number[];
    const n = (A.shape as number[])[1];
    const deltaN = tf.reshape(tf.matMul(tf.reshape(delta, [b * ed, 1]), tf.ones([1, n])), [b, ed, n]); // (B, ED, N)
    const deltaA = tf.exp(tf.mul(deltaN, A)); // (B, ED, N)
    const deltaBx = tf.matMul(tf.reshape(tf.mul(delta, x), [b, ed, 1]), tf.reshape(B, [b, 1, n])); // (B, ED, N)
    const next = tf.add(tf.mul(deltaA, h), deltaBx) as tf.Tensor3D; // (B, ED, N)
    const hc = tf.reshape(tf.matMul(next, tf.reshape(C, [b, n, 1])), [b, ed]); // (B, ED)
    const y = tf.add(hc, tf.mul(D, x)) as tf.Tensor2D; // (B, ED)
    return { y, h: next };
  });
}

/** Steps per chunk of finalScanState: bounds its (B, chunk, ED, N) temporaries. */
export const FINAL_STATE_CHUNK = 64;

/**
 * The scan's state after the last step of a sequence, h_{L−1}, from h_{−1} = 0, in closed form:
 *
 *   h_{L−1} = Σ_t exp(A · Σ_{s>t} Δ_s) · Δ_t · x_t · B_t
 *
 * The inner sum is a reverse exclusive cumsum of Δ (no cancellation), and A < 0, Δ > 0, so every exponential
 * is in (0, 1]. The length is cut into chunks of FINAL_STATE_CHUNK steps, each folded into the running state
 * as h ← exp(A · Σ_chunk Δ) · h + (the chunk's own sum), so at most one (B, chunk, ED, N) tensor lives at a time.
 *
 * Porting note: mamba.py has no prefill (it feeds a prompt through `step` token by token); we run the parallel
 * forward for the outputs (fused kernel, pscan or loop: the fused cpu/wasm kernel returns only y) and get the
 * final state from this formula, which never holds the scan's (B, L, ED, N) states.
 *
 * @param x     (B, L, ED) input after the conv and silu
 * @param delta (B, L, ED) step sizes Δ
 * @param A     (ED, N)
 * @param B     (B, L, N)
 * @returns h   (B, ED, N)
 */
export function finalScanState(x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, chunk = FINAL_STATE_CHUNK): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, ed] = x.shape as number[];
    const n = (A.shape as number[])[1];
    let h: tf.Tensor | null = null; // (B, ED, N)
    for (let start = 0; start < l; start += chunk) {
      const t = Math.min(chunk, l - start);
      const next: tf.Tensor = tf.tidy(() => {
        const dc = tf.slice(delta, [0, start, 0], [b, t, ed]); // (B, T, ED)
        const xc = tf.slice(x, [0, start, 0], [b, t, ed]); // (B, T, ED)
        const bc = tf.slice(B, [0, start, 0], [b, t, n]); // (B, T, N)
        const after = tf.cumsum(dc, 1, true, true); // (B, T, ED)  Σ_{s>t} Δ_s within the chunk
        const afterN = tf.reshape(tf.matMul(tf.reshape(after, [b * t * ed, 1]), tf.ones([1, n])), [b, t, ed, n]); // (B, T, ED, N)
        const decay = tf.exp(tf.mul(afterN, A)); // (B, T, ED, N)
        const u = tf.reshape(tf.mul(dc, xc), [b * t, ed, 1]); // (B·T, ED, 1)  Δ_t·x_t
        const ub = tf.reshape(tf.matMul(u, tf.reshape(bc, [b * t, 1, n])), [b, t, ed * n]); // (B, T, ED·N)
        const terms = tf.mul(tf.reshape(decay, [b, t, ed * n]), ub); // (B, T, ED·N)
        const own = tf.reshape(tf.matMul(tf.ones([1, 1, t]), terms), [b, ed, n]); // (B, ED, N)  Σ_t
        if (h == null) return own;
        const total = tf.sum(dc, 1); // (B, ED)  Σ_chunk Δ
        const totalN = tf.reshape(tf.matMul(tf.reshape(total, [b * ed, 1]), tf.ones([1, n])), [b, ed, n]); // (B, ED, N)
        return tf.add(tf.mul(tf.exp(tf.mul(totalN, A)), h), own); // (B, ED, N)
      });
      if (h) h.dispose();
      h = next;
    }
    return h as tf.Tensor3D; // (B, ED, N)
  });
}
