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

/** Shape (B, T, ED, N) with the length replaced. */
function withLength(shape: readonly number[], t: number): number[] {
  return [shape[0], t, ...shape.slice(2)];
}

/** Slice positions [start, start + size) along the length axis (axis 1). */
function sliceLength(x: tf.Tensor, start: number, size: number): tf.Tensor {
  const begin = x.shape.map((_, i) => (i === 1 ? start : 0));
  const sizes = x.shape.map((d, i) => (i === 1 ? size : d));
  return tf.slice(x, begin, sizes);
}

/** Even (0, 2, 4, …) and odd (1, 3, 5, …) positions of an even-length tensor, via one reshape. */
function evenOdd(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const [b, t, ...rest] = x.shape as number[]; // (B, T, ED, N)
  const pairs = tf.reshape(x, [b, t / 2, 2, ...rest]); // (B, T/2, 2, ED, N)
  const size = [b, t / 2, 1, ...rest];
  const even = tf.reshape(tf.slice(pairs, [0, 0, 0, ...rest.map(() => 0)], size), [b, t / 2, ...rest]); // (B, T/2, ED, N)
  const odd = tf.reshape(tf.slice(pairs, [0, 0, 1, ...rest.map(() => 0)], size), [b, t / 2, ...rest]); // (B, T/2, ED, N)
  return [even, odd];
}

/** Interleave two (B, T/2, …) tensors into (B, T, …): even positions from `even`, odd from `odd`. */
function interleave(even: tf.Tensor, odd: tf.Tensor): tf.Tensor {
  const [b, half, ...rest] = even.shape as number[]; // (B, T/2, ED, N)
  const e = tf.reshape(even, [b, half, 1, ...rest]); // (B, T/2, 1, ED, N)
  const o = tf.reshape(odd, [b, half, 1, ...rest]); // (B, T/2, 1, ED, N)
  return tf.reshape(tf.concat([e, o], 2), [b, half * 2, ...rest]); // (B, T, ED, N)
}

/** Shift along the length axis by one, filling with zeros: 'right' gives out_t = x_{t−1}, 'left' out_t = x_{t+1}. */
export function shiftByOne(x: tf.Tensor, towards: 'right' | 'left'): tf.Tensor {
  const t = (x.shape as number[])[1];
  const zero = tf.zeros(withLength(x.shape, 1), x.dtype); // (B, 1, ED, N)
  if (t === 1) return zero;
  if (towards === 'right') return tf.concat([zero, sliceLength(x, 0, t - 1)], 1); // (B, T, ED, N)
  return tf.concat([sliceLength(x, 1, t - 1), zero], 1); // (B, T, ED, N)
}

/**
 * The scan itself, without a gradient of its own.
 *
 * forward: H_t = A_t·H_{t−1} + X_t.   reverse: H_t = A_t·H_{t+1} + X_t (the caller shifts A for the backward).
 * Must be called inside tf.tidy (it returns a new tensor and leaves intermediates to the tidy).
 */
export function scanCore(A: tf.Tensor, X: tf.Tensor, direction: ScanDirection): tf.Tensor {
  const t = (A.shape as number[])[1];
  if (t === 1) return X;
  const odd = t % 2 === 1;
  // Pad one element where the pair would be missing: at the end for forward, at the start for reverse.
  // A padded element has X = 0 and A = 0, so it neither changes nor depends on the real ones.
  let a = A; // (B, T, ED, N)
  let x = X; // (B, T, ED, N)
  if (odd) {
    const zeroA = tf.zeros(withLength(A.shape, 1)); // (B, 1, ED, N)
    const zeroX = tf.zeros(withLength(X.shape, 1)); // (B, 1, ED, N)
    a = direction === 'forward' ? tf.concat([A, zeroA], 1) : tf.concat([zeroA, A], 1); // (B, T+1, ED, N)
    x = direction === 'forward' ? tf.concat([X, zeroX], 1) : tf.concat([zeroX, X], 1); // (B, T+1, ED, N)
  }
  const [aEven, aOdd] = evenOdd(a); // (B, T/2, ED, N) each
  const [xEven, xOdd] = evenOdd(x); // (B, T/2, ED, N) each
  let full: tf.Tensor;
  if (direction === 'forward') {
    // Up-sweep: the pair (2i, 2i+1) as one step; its scan gives H at the odd positions.
    const hOdd = scanCore(tf.mul(aOdd, aEven), tf.add(tf.mul(aOdd, xEven), xOdd), direction); // (B, T/2, ED, N)
    // Down-sweep: H_{2i} = A_{2i}·H_{2i−1} + X_{2i}.
    const hEven = tf.add(tf.mul(aEven, shiftByOne(hOdd, 'right')), xEven); // (B, T/2, ED, N)
    full = interleave(hEven, hOdd); // (B, T, ED, N)
  } else {
    // Up-sweep from the right: the pair (2i, 2i+1) as one step; its scan gives H at the even positions.
    const hEven = scanCore(tf.mul(aEven, aOdd), tf.add(tf.mul(aEven, xOdd), xEven), direction); // (B, T/2, ED, N)
    // Down-sweep: H_{2i+1} = A_{2i+1}·H_{2i+2} + X_{2i+1}.
    const hOdd = tf.add(tf.mul(aOdd, shiftByOne(hEven, 'left')), xOdd); // (B, T/2, ED, N)
    full = interleave(hEven, hOdd); // (B, T, ED, N)
  }
  if (!odd) return full;
  return direction === 'forward' ? sliceLength(full, 0, t) : sliceLength(full, 1, t); // (B, T, ED, N)
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
