/**
 * The fused Mamba-2 (SSD) scan op: one kernel for the whole recurrence and a hand-written backward (cpu and wasm:
 * ../kernels/ssdScan.ts; webgpu: ../kernels/webgpu/ssd.ts; registered by registerKernels()). Neither direction
 * stores a state per step: memory O(B·L·H·P), never (B, L, H, P, N).
 *
 * Shape letters: B batch, L length, H heads, P head dim, G groups, N state size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SSD_SCAN_GRAD_KERNEL, SSD_SCAN_KERNEL } from '../kernels/names';

/** Backends that get the fused SSD kernels. */
export const FUSED_SSD_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

/** Largest P·N the webgpu kernels take (their private state arrays are sized by it). */
export const WEBGPU_SSD_MAX_STATE = 256;

/**
 * True when the fused SSD scan has kernels on `backendName` (default: the active backend) for head dim P and state
 * size N (the webgpu kernels keep P and N floats per invocation: at most 256 each).
 */
export function hasFusedSsdKernel(backendName: string = tf.getBackend(), p = 1, n = 1): boolean {
  if (tf.getKernel(SSD_SCAN_KERNEL, backendName) == null || tf.getKernel(SSD_SCAN_GRAD_KERNEL, backendName) == null) return false;
  return backendName !== 'webgpu' || (p <= WEBGPU_SSD_MAX_STATE && n <= WEBGPU_SSD_MAX_STATE);
}

/** What {@link fusedSsd} returns. */
export interface FusedSsdResult {
  /** y (B, L, H, P). */
  y: tf.Tensor;
  /** The state after the last step (B, H, P, N). */
  state: tf.Tensor;
}

/**
 * The SSD scan by the fused kernel of the active backend. Differentiable in every input and in h0.
 * @param i  x (B, L, H, P), dt (B, L, H), a (H), bm and cm (B, L, G, N), d (H); the SsdInputs of ./ssd.ts, whose `ssd` checks the shapes
 * @param h0 (B, H, P, N) the state before the first step (default zeros)
 * @returns  y (B, L, H, P) and the final state (B, H, P, N)
 */
export function fusedSsd(i: Record<'x' | 'dt' | 'a' | 'bm' | 'cm' | 'd', tf.Tensor>, h0?: tf.Tensor): FusedSsdResult {
  const [b, , h, p] = i.x.shape as number[];
  const n = i.bm.shape[3] as number;
  const backend = tf.getBackend();
  if (!hasFusedSsdKernel(backend, p, n)) {
    throw new Error(`fusedSsd: no fused SSD kernel for backend '${backend}' at head dim ${p}, state size ${n} ` +
      `(expected one of ${FUSED_SSD_BACKENDS.join(', ')}; on webgpu P and N ≤ ${WEBGPU_SSD_MAX_STATE})`);
  }
  if (h0 != null && (h0.rank !== 4 || [b, h, p, n].some((s, k) => h0.shape[k] !== s))) {
    throw new Error(`fusedSsd: expected h0 of shape [${[b, h, p, n]}], got [${h0.shape}]`);
  }
  return tf.tidy(() => {
    const f32 = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
    const inputs = {
      x: f32(i.x), dt: f32(i.dt), A: f32(i.a), B: f32(i.bm), C: f32(i.cm), D: f32(i.d), h0: h0 ? f32(h0) : tf.zeros([b, h, p, n]),
    };
    const [y, state] = tf.engine().runKernel<tf.Tensor[]>(SSD_SCAN_KERNEL, inputs); // (B, L, H, P), (B, H, P, N)
    return { y, state };
  });
}
