/**
 * The pscan path of the selective scan, cut into chunks along L so that no (B, L, ED, N) tensor exists:
 * only (B, T, ED, N) ones for a chunk of T steps at a time, and the (B, ED, N) state carried between chunks.
 *
 * Shape letters: B batch, L length, T chunk length, ED inner channels, N state size.
 *
 * A scan that starts from a state h0 (H_{−1} = h0 instead of 0) is the plain scan with the state prepended as
 * one extra step: A' = [0, A_0 … A_{T−1}], X' = [h0, X_0 … X_{T−1}] gives H'_0 = h0 and H'_{t+1} = H_t; the
 * first output is dropped. (Chosen over adding h0·cumprod(A): exact, no separate product that can underflow,
 * and its gradient — to h0 as well — comes from pscan's own through concat and slice.)
 *
 * Without a gradient tape each chunk's (B, T, ED, N) temporaries are freed before the next chunk; with one
 * (training), the tape keeps what the backward needs of every chunk, so chunking lowers the peak of the
 * forward's temporaries but not the total saved for the backward.
 */
import * as tf from '@tensorflow/tfjs-core';
import { pscan } from './pscan';

/** B·L·ED·N above which the pscan path of selectiveScan runs in chunks (2^22 floats: 16 MiB per tensor). */
export const DEFAULT_CHUNK_ELEMENTS = 2 ** 22;

/**
 * H_t = A_t·H_{t−1} + X_t over axis 1 from H_{−1} = h0 (log depth, via pscan).
 * @param A  (B, T, ED, N)
 * @param X  (B, T, ED, N)
 * @param h0 (B, ED, N) the state before the first step
 * @returns H (B, T, ED, N)
 */
export function scanWithInitialState(A: tf.Tensor, X: tf.Tensor, h0: tf.Tensor): tf.Tensor {
  const [b, t, ed, n] = A.shape as number[];
  if (A.rank !== 4 || h0.rank !== 3 || h0.shape[0] !== b || h0.shape[1] !== ed || h0.shape[2] !== n) {
    throw new Error(`scanWithInitialState: expected A, X (B, T, ED, N) and h0 (B, ED, N), got A [${A.shape}], h0 [${h0.shape}]`);
  }
  return tf.tidy(() => {
    const a = tf.concat([tf.zeros([b, 1, ed, n]), A], 1); // (B, T+1, ED, N)
    const x = tf.concat([tf.reshape(h0, [b, 1, ed, n]), X], 1); // (B, T+1, ED, N)
    return tf.slice(pscan(a, x), [0, 1, 0, 0], [b, t, ed, n]); // (B, T, ED, N)
  });
}

/** The chunk length T for a scan of (b, l, ed, n): the largest with b·T·ed·n ≤ maxElements (at least 1). */
export function chunkLength(b: number, l: number, ed: number, n: number, maxElements = DEFAULT_CHUNK_ELEMENTS): number {
  if (!(maxElements > 0)) throw new Error(`chunkLength: expected a positive element budget, got ${maxElements}`);
  return Math.max(1, Math.min(l, Math.floor(maxElements / (b * ed * n))));
}

/** Discretization, scan from h0 and C-contraction of one chunk: y (B, T, ED) without D·x, and the last state. */
function chunkStep(
  x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, h0: tf.Tensor | null,
): { y: tf.Tensor; h: tf.Tensor } {
  return tf.tidy(() => {
    const [b, t, ed] = x.shape as number[];
    const n = (A.shape as number[])[1];
    const delta4 = tf.reshape(delta, [b, t, ed, 1]); // (B, T, ED, 1)
    const deltaA = tf.exp(tf.mul(delta4, tf.reshape(A, [1, 1, ed, n]))); // (B, T, ED, N)
    const deltaBx = tf.mul(tf.mul(delta4, tf.reshape(B, [b, t, 1, n])), tf.reshape(x, [b, t, ed, 1])); // (B, T, ED, N)
    const hs = h0 === null ? pscan(deltaA, deltaBx) : scanWithInitialState(deltaA, deltaBx, h0); // (B, T, ED, N)
    const y = tf.reshape(tf.matMul(tf.reshape(hs, [b * t, ed, n]), tf.reshape(C, [b * t, n, 1])), [b, t, ed]); // (B, T, ED)
    // The last state, copied: a contiguous slice is a view that would keep all of hs's buffer alive.
    const h = tf.mul(tf.reshape(tf.slice(hs, [0, t - 1, 0, 0], [b, 1, ed, n]), [b, ed, n]), tf.scalar(1)); // (B, ED, N)
    return { y, h };
  });
}

/**
 * The selective scan's pscan path in chunks of `chunk` steps (see the module comment); equal to the unchunked
 * one up to float rounding, gradients included.
 * @param x (B, L, ED)  @param delta (B, L, ED)  @param A (ED, N)  @param B (B, L, N)  @param C (B, L, N)  @param D (ED)
 * @returns y (B, L, ED)
 */
export function chunkedSelectiveScan(
  x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor, chunk: number,
): tf.Tensor3D {
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`chunkedSelectiveScan: expected a positive integer chunk length, got ${chunk}`);
  return tf.tidy(() => {
    const [b, l, ed] = x.shape as number[];
    const n = (A.shape as number[])[1];
    const ys: tf.Tensor[] = [];
    let h: tf.Tensor | null = null; // (B, ED, N)
    for (let start = 0; start < l; start += chunk) {
      const t = Math.min(chunk, l - start);
      const part = (v: tf.Tensor, w: number) => tf.slice(v, [0, start, 0], [b, t, w]);
      const out = chunkStep(part(x, ed), part(delta, ed), A, part(B, n), part(C, n), h);
      h = out.h; // the previous (small) state is freed with this tidy
      ys.push(out.y);
    }
    const y = ys.length === 1 ? ys[0] : tf.concat(ys, 1); // (B, L, ED)
    return tf.add(y, tf.mul(D, x)) as tf.Tensor3D; // (B, L, ED)
  });
}
