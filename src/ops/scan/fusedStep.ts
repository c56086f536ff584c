/**
 * The fused decoding-step ops: one selective-scan step and one conv step, each one kernel (cpu, wasm:
 * ../kernels/step.ts) instead of ~10 small tf ops.
 *
 * Shape letters: B batch, ED inner channels, N state size, K conv width.
 *
 * Kernels:
 *   MambaSelectiveStep {h, x, delta, A, B, C, D} → [y (B, ED), h' (B, ED, N)]
 *   MambaConvStep      {state, x, w, bias}       → [out (B, ED), state' (B, K−1, ED)]
 * No gradients: they serve inference. Other backends run the tf-op versions (./selectiveStep.ts, ../conv/convState.ts).
 *
 * Porting note: a decoding step is small (B·ED·N ≈ 25k elements at mamba-130m, B = 1), so tfjs's per-op cost
 * dominates it: measured on wasm, 24 layers of the tf-op selective step took ~120 ms per token.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CONV_STEP_KERNEL, SELECTIVE_STEP_KERNEL } from '../kernels/names';

/** True when the active backend (or `backendName`) has the fused step kernels. */
export function hasStepKernels(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(SELECTIVE_STEP_KERNEL, backendName) != null && tf.getKernel(CONV_STEP_KERNEL, backendName) != null;
}

/** 'auto' (default): the fused kernel where the backend has one (cpu, wasm), else tf ops; or force either. */
export type StepImpl = 'auto' | 'fused' | 'ops';

/** Resolve 'auto' against the active backend. */
export function resolveStepImpl(impl: StepImpl = 'auto'): 'fused' | 'ops' {
  if (impl !== 'auto') return impl;
  return hasStepKernels() ? 'fused' : 'ops';
}

/** The fused selective step: inputs as selectiveStep's; returns [y (B, ED), h (B, ED, N)]. */
export function fusedSelectiveStep(
  h: tf.Tensor, x: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor,
): [tf.Tensor2D, tf.Tensor3D] {
  return tf.engine().runKernel(SELECTIVE_STEP_KERNEL, { h, x, delta, A, B, C, D }) as unknown as [tf.Tensor2D, tf.Tensor3D];
}

/** The fused conv step: inputs as convStep's (bias required); returns [out (B, ED), state (B, K−1, ED)]. */
export function fusedConvStep(state: tf.Tensor, x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): [tf.Tensor2D, tf.Tensor3D] {
  return tf.engine().runKernel(CONV_STEP_KERNEL, { state, x, w, bias }) as unknown as [tf.Tensor2D, tf.Tensor3D];
}

