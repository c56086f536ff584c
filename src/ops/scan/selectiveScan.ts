/**
 * The selective scan of Mamba: discretize (Δ, A, B), run the linear scan, contract the states with C.
 *
 * Shape letters: B batch, L length, ED inner channels, N state size.
 *
 *   Ā_t = exp(Δ_t · A)                 (B, L, ED, N)
 *   B̄x_t = Δ_t · B_t · x_t             (B, L, ED, N)
 *   h_t = Ā_t · h_{t−1} + B̄x_t         (B, L, ED, N)
 *   y_t = h_t · C_t + D · x_t           (B, L, ED)
 *
 * Modes: 'pscan' (log-depth scan, mamba.py's default), 'sequential' (the plain loop, a reference), and
 * 'fused' (one kernel that never stores (B, L, ED, N); see fusedSelectiveScan.ts). 'auto' picks 'fused' when
 * the active backend has the kernel, else 'pscan'. Long pscan scans run in chunks along L (chunkedScan.ts)
 * once B·L·ED·N exceeds options.chunkElements, so (B, L, ED, N) is never materialized whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import { pscan } from './pscan';
import { scanSequential } from './scanSequential';
import { fusedSelectiveScan, hasFusedScanKernel } from './fusedSelectiveScan';
import { DEFAULT_CHUNK_ELEMENTS, chunkLength, chunkedSelectiveScan } from './chunkedScan';

/** How the scan runs: 'auto' (the fused kernel where the backend has one, else pscan), 'fused', 'pscan' or 'sequential'. */
export type ScanMode = 'auto' | 'fused' | 'pscan' | 'sequential';

/** Options of {@link selectiveScan}. */
export interface SelectiveScanOptions {
  /** Which implementation runs the scan (default 'auto'). */
  mode?: ScanMode;
  /**
   * pscan mode only: above this many elements of B·L·ED·N, the scan runs in chunks along L that each hold at
   * most this many (default DEFAULT_CHUNK_ELEMENTS, 2^22); Infinity turns chunking off. See chunkedScan.ts.
   */
  chunkElements?: number;
}

/** Resolve 'auto' against the active backend. */
export function resolveScanMode(mode: ScanMode = 'auto'): Exclude<ScanMode, 'auto'> {
  if (mode !== 'auto') return mode;
  return hasFusedScanKernel() ? 'fused' : 'pscan';
}

function checkShapes(x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor): void {
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (x.rank !== 3) throw new Error(`selectiveScan: expected x of shape (B, L, ED), got [${x.shape}]`);
  const [b, l, ed] = x.shape as number[];
  if (!same(delta.shape, x.shape)) throw new Error(`selectiveScan: expected delta of shape [${x.shape}], got [${delta.shape}]`);
  if (A.rank !== 2 || A.shape[0] !== ed) throw new Error(`selectiveScan: expected A of shape (${ed}, N), got [${A.shape}]`);
  const n = (A.shape as number[])[1];
  if (!same(B.shape, [b, l, n])) throw new Error(`selectiveScan: expected B of shape [${b},${l},${n}], got [${B.shape}]`);
  if (!same(C.shape, [b, l, n])) throw new Error(`selectiveScan: expected C of shape [${b},${l},${n}], got [${C.shape}]`);
  if (!same(D.shape, [ed])) throw new Error(`selectiveScan: expected D of shape [${ed}], got [${D.shape}]`);
}

/**
 * The selective scan: discretize (Δ, A, B), scan, contract with C and add D·x; `options.mode` picks the implementation.
 * @param x     (B, L, ED) input after the conv and silu
 * @param delta (B, L, ED) step sizes Δ (after softplus)
 * @param A     (ED, N) state matrix (negative)
 * @param B     (B, L, N) input projection
 * @param C     (B, L, N) output projection
 * @param D     (ED) skip connection
 * @returns y   (B, L, ED)
 */
export function selectiveScan(
  x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor,
  options: SelectiveScanOptions = {},
): tf.Tensor3D {
  checkShapes(x, delta, A, B, C, D);
  const mode = resolveScanMode(options.mode);
  if (mode === 'fused') return fusedSelectiveScan(x, delta, A, B, C, D);
  if (mode === 'pscan') {
    const [b, l, ed] = x.shape as number[];
    const n = (A.shape as number[])[1];
    const budget = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
    if (b * l * ed * n > budget) return chunkedSelectiveScan(x, delta, A, B, C, D, chunkLength(b, l, ed, n, budget));
  }
  return tf.tidy(() => {
    const [b, l, ed] = x.shape as number[];
    const n = (A.shape as number[])[1];
    const delta4 = tf.reshape(delta, [b, l, ed, 1]); // (B, L, ED, 1)
    const deltaA = tf.exp(tf.mul(delta4, tf.reshape(A, [1, 1, ed, n]))); // (B, L, ED, N)
    const deltaBx = tf.mul(tf.mul(delta4, tf.reshape(B, [b, l, 1, n])), tf.reshape(x, [b, l, ed, 1])); // (B, L, ED, N)
    const hs = mode === 'sequential' ? scanSequential(deltaA, deltaBx) : pscan(deltaA, deltaBx); // (B, L, ED, N)
    const hsFlat = tf.reshape(hs, [b * l, ed, n]); // (B·L, ED, N)
    const cFlat = tf.reshape(C, [b * l, n, 1]); // (B·L, N, 1)
    const y = tf.reshape(tf.matMul(hsFlat, cFlat), [b, l, ed]); // (B, L, ED)
    return tf.add(y, tf.mul(D, x)) as tf.Tensor3D; // (B, L, ED)
  });
}
