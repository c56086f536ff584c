/**
 * Parallel (log-depth) linear scan: H_t = A_t · H_{t−1} + X_t, H_{−1} = 0.
 *
 * Shape letters (all ops files):
 *   B  batch          L  sequence length     ED inner channels (expand · d_model)
 *   N  state size     T  length at one level of the scan (T ≤ L)
 *
 * The scan runs Blelloch's two sweeps in their odd–even form, built only from reshape / slice / concat
 * (tfjs has no in-place ops, and StridedSlice has no gradient):
 *   up-sweep   — pair neighbours (2i, 2i+1): A' = A_{2i+1}·A_{2i}, X' = A_{2i+1}·X_{2i} + X_{2i+1}; the pairs
 *                form a scan of half the length, solved the same way, down to length 1;
 *   down-sweep — the half-length result is H at the odd positions; the even positions follow in one step,
 *                H_{2i} = A_{2i}·H_{2i−1} + X_{2i}; interleave and go back up one level.
 * Depth is 2·⌈log2 L⌉ levels; work is O(L). Odd lengths are padded by one element at that level.
 *
 * The backward pass is a reverse scan of the incoming gradient G (R_t = G_t + A_{t+1}·R_{t+1}), run by the
 * same two sweeps in the other direction: dX = R, dA_t = R_t · H_{t−1}.
 *
 * Porting note: mamba.py pads L to a power of two and writes the sweeps in place; tfjs tensors are immutable,
 * so each level builds new tensors, and padding happens per level (one element), not up to a power of two.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Direction of a scan: 'forward' runs t = 0 … L−1, 'reverse' runs t = L−1 … 0. */
export type ScanDirection = 'forward' | 'reverse';

// Porting note: inside the scan the tensors are laid out length-first, (T, F) with F = B·ED·N, so that every
// slice along the length is one contiguous block; tfjs's cpu backend copies a strided slice element by
// element, about ten times slower.

/** Rows [start, start + size) of a (T, F) tensor. */
function rows(x: tf.Tensor2D, start: number, size: number): tf.Tensor2D {
  return tf.slice(x, [start, 0], [size, x.shape[1]]);
}

/** Even (0, 2, 4, …) and odd (1, 3, 5, …) rows of an even-length (T, F) tensor. */
function evenOdd(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const [t, f] = x.shape;
  const split = tf.reshape(tf.transpose(tf.reshape(x, [t / 2, 2, f]), [1, 0, 2]), [t, f]) as tf.Tensor2D; // (2·T/2, F)
  return [rows(split, 0, t / 2), rows(split, t / 2, t / 2)]; // (T/2, F) each
}

/** Interleave two (T/2, F) tensors into (T, F): even rows from `even`, odd rows from `odd`. */
function interleave(even: tf.Tensor2D, odd: tf.Tensor2D): tf.Tensor2D {
  const [half, f] = even.shape;
  return tf.reshape(tf.stack([even, odd], 1), [2 * half, f]) as tf.Tensor2D; // (T, F)
}

/** Shift rows by one, filling with zeros: 'down' gives out_t = x_{t−1}, 'up' gives out_t = x_{t+1}. */
function shiftRows(x: tf.Tensor2D, towards: 'down' | 'up'): tf.Tensor2D {
  const [t, f] = x.shape;
  const zero = tf.zeros([1, f]) as tf.Tensor2D; // (1, F)
  if (t === 1) return zero;
  const parts = towards === 'down' ? [zero, rows(x, 0, t - 1)] : [rows(x, 1, t - 1), zero];
  return tf.concat(parts, 0) as tf.Tensor2D; // (T, F)
}

/**
 * The scan on length-first (T, F) tensors, without a gradient of its own.
 *
 * forward: H_t = A_t·H_{t−1} + X_t.   reverse: H_t = A_t·H_{t+1} + X_t (the caller shifts A for the backward).
 * Must be called inside tf.tidy (it leaves intermediates to the tidy).
 */
function scanRows(A: tf.Tensor2D, X: tf.Tensor2D, direction: ScanDirection): tf.Tensor2D {
  const [t, f] = A.shape;
  if (t === 1) return X;
  const odd = t % 2 === 1;
  // Pad one row where the pair would be missing: at the end for forward, at the start for reverse.
  // A padded row has X = 0 and A = 0, so it neither changes nor depends on the real ones.
  let a = A; // (T, F)
  let x = X; // (T, F)
  if (odd) {
    const zero = tf.zeros([1, f]); // (1, F)
    a = tf.concat(direction === 'forward' ? [A, zero] : [zero, A], 0) as tf.Tensor2D; // (T+1, F)
    x = tf.concat(direction === 'forward' ? [X, zero] : [zero, X], 0) as tf.Tensor2D; // (T+1, F)
  }
  const [aEven, aOdd] = evenOdd(a); // (T/2, F) each
  const [xEven, xOdd] = evenOdd(x); // (T/2, F) each
  let full: tf.Tensor2D;
  if (direction === 'forward') {
    // Up-sweep: the pair (2i, 2i+1) as one step; its scan gives H at the odd positions.
    const hOdd = scanRows(tf.mul(aOdd, aEven), tf.add(tf.mul(aOdd, xEven), xOdd), direction); // (T/2, F)
    // Down-sweep: H_{2i} = A_{2i}·H_{2i−1} + X_{2i}.
    const hEven = tf.add(tf.mul(aEven, shiftRows(hOdd, 'down')), xEven) as tf.Tensor2D; // (T/2, F)
    full = interleave(hEven, hOdd); // (T, F)
  } else {
    // Up-sweep from the right: the pair (2i, 2i+1) as one step; its scan gives H at the even positions.
    const hEven = scanRows(tf.mul(aEven, aOdd), tf.add(tf.mul(aEven, xOdd), xEven), direction); // (T/2, F)
    // Down-sweep: H_{2i+1} = A_{2i+1}·H_{2i+2} + X_{2i+1}.
    const hOdd = tf.add(tf.mul(aOdd, shiftRows(hEven, 'up')), xOdd) as tf.Tensor2D; // (T/2, F)
    full = interleave(hEven, hOdd); // (T, F)
  }
  if (!odd) return full;
  return direction === 'forward' ? rows(full, 0, t) : rows(full, 1, t); // (T, F)
}

/** (B, L, …) → length-first (L, B·…). */
function toRows(x: tf.Tensor): tf.Tensor2D {
  const [b, l] = x.shape as number[];
  const f = x.size / (b * l);
  return tf.reshape(tf.transpose(tf.reshape(x, [b, l, f]), [1, 0, 2]), [l, b * f]); // (L, B·F)
}

/** Length-first (L, B·…) → (B, L, …) of the given shape. */
function fromRows(x: tf.Tensor2D, shape: number[]): tf.Tensor {
  const [b, l] = shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [l, b, x.size / (b * l)]), [1, 0, 2]), shape); // (B, L, ED, N)
}

/**
 * The scan over axis 1 of (B, L, …) tensors, without a gradient of its own. Call inside tf.tidy.
 * forward: H_t = A_t·H_{t−1} + X_t.   reverse: H_t = A_t·H_{t+1} + X_t.
 */
export function scanCore(A: tf.Tensor, X: tf.Tensor, direction: ScanDirection): tf.Tensor {
  return fromRows(scanRows(toRows(A), toRows(X), direction), A.shape as number[]); // (B, L, ED, N)
}

/** Shift along the length axis (axis 1) by one, filling with zeros: 'right' gives out_t = x_{t−1}, 'left' x_{t+1}. */
export function shiftByOne(x: tf.Tensor, towards: 'right' | 'left'): tf.Tensor {
  return fromRows(shiftRows(toRows(x), towards === 'right' ? 'down' : 'up'), x.shape as number[]); // (B, L, ED, N)
}

function checkScanInputs(A: tf.Tensor, X: tf.Tensor, what: string): void {
  if (A.rank < 2) throw new Error(`${what}: expected A of rank >= 2 (B, L, ...), got shape [${A.shape}]`);
  if (A.shape.length !== X.shape.length || A.shape.some((d, i) => d !== X.shape[i])) {
    throw new Error(`${what}: expected A and X of the same shape, got A [${A.shape}] and X [${X.shape}]`);
  }
  if ((A.shape[1] ?? 0) < 1) throw new Error(`${what}: expected length L >= 1 on axis 1, got shape [${A.shape}]`);
}

const pscanOp = tf.customGrad(((A: tf.Tensor, X: tf.Tensor, save: tf.GradSaveFunc) => {
  // clone: at L = 1 the scan returns X itself, and a custom op must return a tensor of its own.
  const H = tf.tidy(() => tf.clone(scanCore(A, X, 'forward'))); // (B, L, ED, N)
  save([A, H]);
  return {
    value: H,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [a, h] = saved;
      return tf.tidy(() => {
        // R_t = G_t + A_{t+1}·R_{t+1}: the same scan, run from the right, with A moved one step left.
        const R = tf.clone(scanCore(shiftByOne(a, 'left'), dy, 'reverse')); // (B, L, ED, N)
        const dA = tf.mul(R, shiftByOne(h, 'right')); // (B, L, ED, N)  R_t · H_{t−1}
        return [dA, R];
      });
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * H_t = A_t·H_{t−1} + X_t over axis 1, in log depth, with a reverse-scan gradient.
 * @param A (B, L, ED, N) multipliers (any rank ≥ 2 with length on axis 1)
 * @param X (B, L, ED, N) inputs, same shape
 * @returns H (B, L, ED, N)
 */
export function pscan(A: tf.Tensor, X: tf.Tensor): tf.Tensor {
  checkScanInputs(A, X, 'pscan');
  return pscanOp(A, X) as tf.Tensor;
}

export { checkScanInputs };
