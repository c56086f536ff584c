/**
 * The fused selective scan op: checks its inputs and runs the MambaSelectiveScan kernel of the active backend
 * (cpu and wasm: ../kernels/scan.ts; webgpu: ../kernels/webgpu/scan.ts; registered by registerKernels()).
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   N  state size
 */
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_SCAN_GRAD_KERNEL, FUSED_SCAN_KERNEL, FUSED_SCAN_STATE_KERNEL } from '../kernels/names';

/** Backends that get the fused kernels. */
export const FUSED_SCAN_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

/**
 * True when the fused scan has kernels on `backendName` (default: the active backend).
 * Use it to choose between {@link fusedSelectiveScan} and the tf-op scan.
 */
export function hasFusedScanKernel(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(FUSED_SCAN_KERNEL, backendName) != null && tf.getKernel(FUSED_SCAN_GRAD_KERNEL, backendName) != null;
}

/** Formats a shape for error messages. */
function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws unless `t` has exactly `expected` shape. */
function checkShape(name: string, t: tf.Tensor, expected: number[], letters: string): void {
  const ok = t.rank === expected.length && t.shape.every((s, i) => s === expected[i]);
  if (!ok) throw new Error(`fusedSelectiveScan: ${name} must have shape ${letters} = ${fmt(expected)}, got ${fmt(t.shape)}`);
}

/** Throws a one-line error unless the shapes fit the scan and the active backend has its fused kernels. */
function checkScanInputs(x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor): void {
  if (x.rank !== 3) throw new Error(`fusedSelectiveScan: x must be rank 3 (B, L, ED), got shape ${fmt(x.shape)}`);
  if (A.rank !== 2) throw new Error(`fusedSelectiveScan: A must be rank 2 (ED, N), got shape ${fmt(A.shape)}`);
  const [nb, nl, ned] = x.shape as [number, number, number];
  const nn = (A.shape as [number, number])[1];
  checkShape('delta', delta, [nb, nl, ned], '(B, L, ED)');
  checkShape('A', A, [ned, nn], '(ED, N)');
  checkShape('B', B, [nb, nl, nn], '(B, L, N)');
  checkShape('C', C, [nb, nl, nn], '(B, L, N)');
  checkShape('D', D, [ned], '(ED)');
  const backend = tf.getBackend();
  if (!hasFusedScanKernel(backend)) {
    throw new Error(
      `fusedSelectiveScan: no fused kernel for backend '${backend}' (expected one of ${FUSED_SCAN_BACKENDS.join(', ')})`,
    );
  }
}

/** The scan kernels' inputs by name, cast to float32 where they are not (call inside a tidy). */
function float32Inputs(x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor): tf.NamedTensorMap {
  const f32 = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
  return { x: f32(x), delta: f32(delta), A: f32(A), B: f32(B), C: f32(C), D: f32(D) };
}

/**
 * Selective scan y = SSM(x; delta, A, B, C) + D * x, discretization included,
 * computed by the fused kernel of the active backend ('cpu', 'wasm' or 'webgpu').
 * Differentiable with respect to all six inputs; never materializes (B, L, ED, N).
 *
 * @param x     (B, L, ED) input
 * @param delta (B, L, ED) positive step sizes (softplus already applied)
 * @param A     (ED, N) negative state matrix diagonal
 * @param B     (B, L, N) input projection
 * @param C     (B, L, N) output projection
 * @param D     (ED) skip weight
 * @returns y   (B, L, ED), float32
 */
export function fusedSelectiveScan(
  x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor,
): tf.Tensor3D {
  checkScanInputs(x, delta, A, B, C, D);
  return tf.tidy(() => tf.engine().runKernel<tf.Tensor3D>(FUSED_SCAN_KERNEL, float32Inputs(x, delta, A, B, C, D))); // (B, L, ED)
}


/**
 * The fused scan's output and each batch's state after the last step, h_{L−1} (B, ED, N), in one pass
 * (MambaSelectiveScanState): a prompt's prefill before decoding. Null where the active backend has no such kernel
 * (webgpu; the caller then uses finalScanState). Same inputs and checks as {@link fusedSelectiveScan}; no gradient.
 */
export function fusedSelectiveScanWithState(
  x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor,
): { y: tf.Tensor3D; h: tf.Tensor3D } | null {
  if (tf.getKernel(FUSED_SCAN_STATE_KERNEL, tf.getBackend()) == null) return null;
  checkScanInputs(x, delta, A, B, C, D);
  const [y, h] = tf.tidy(() => tf.engine().runKernel(FUSED_SCAN_STATE_KERNEL, float32Inputs(x, delta, A, B, C, D)) as tf.Tensor[]); // (B, L, ED), (B, ED, N)
  return { y: y as tf.Tensor3D, h: h as tf.Tensor3D };
}
