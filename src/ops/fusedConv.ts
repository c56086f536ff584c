/**
 * Fused depthwise causal conv1d (with its bias) as custom tfjs kernels for the 'cpu' and 'wasm' backends.
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   K  conv width (tap K−1 is the current step)
 *
 * Kernels registered on import (idempotent):
 *   MambaCausalConv1d     {x (B, L, ED), weight (K, ED), bias (ED)}      -> y (B, L, ED)
 *   MambaCausalConv1dGrad {x, weight, bias, dy (B, L, ED)}             -> [dx (B, L, ED), dweight (K, ED), dbias (ED)]
 * plus the gradient of MambaCausalConv1d, which calls MambaCausalConv1dGrad.
 *
 * y[b, t, e] = bias[e] + Σ_k weight[k, e] · x[b, t − (K−1) + k, e], zeros before the start: the same sum as
 * linear.ts's causalDepthwiseConv (K shifted slices, the path of every other backend), in one pass instead of
 * about 20 ops forward and 40 backward. The arithmetic runs in ./convWasm (the SIMD module, else the JS loops of
 * ./convMath).
 *
 * Porting note: mamba.py calls nn.Conv1d(groups=ED, padding=K−1) and keeps the first L outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { causalDepthwiseConv, causalDepthwiseConvGrad } from './linear';
import { ConvDims } from './convMath';
import { convBackwardFast, convForwardFast } from './convWasm';
import './fusedConvWebgpu'; // registers the WGSL versions for 'webgpu' on import

/** Kernel name of the forward conv. */
export const CONV_KERNEL = 'MambaCausalConv1d';
/** Kernel name of its gradient (three outputs). */
export const CONV_GRAD_KERNEL = 'MambaCausalConv1dGrad';

const INPUT_NAMES = ['x', 'weight', 'bias'] as const;
const GRAD_INPUT_NAMES = [...INPUT_NAMES, 'dy'] as const;

/** Sizes from the kernel inputs [x, weight, bias, dy?], checked: a kernel called directly gets the same error as the op. */
function dimsOf([x, w, bias, dy]: tf.TensorInfo[]): ConvDims {
  const [B, L, ED] = x.shape; // (B, L, ED)
  const ok = x.shape.length === 3 && w.shape.length === 2 && w.shape[1] === ED && bias.shape.length === 1 && bias.shape[0] === ED
    && (dy === undefined || (dy.shape.length === 3 && dy.shape.every((s, i) => s === x.shape[i])));
  if (!ok) {
    throw new Error(`${CONV_KERNEL}: expected x (B, L, ED), weight (K, ED), bias (ED)${dy ? ' and dy like x' : ''}, got [${x.shape}], [${w.shape}], [${bias.shape}]${dy ? `, [${dy.shape}]` : ''}`);
  }
  return { B, L, ED, K: w.shape[0] };
}

const forward = cpuWasmKernels(
  CONV_KERNEL, INPUT_NAMES, ([x]) => [x.shape],
  ([x, w, bias], [y], infos) => convForwardFast(x, w, bias, dimsOf(infos), y),
);

const backward = cpuWasmKernels(
  CONV_GRAD_KERNEL, GRAD_INPUT_NAMES, ([x, w, bias]) => [x.shape, w.shape, bias.shape],
  ([x, w, , dy], [dx, dw, dbias], infos) => convBackwardFast(x, w, dy, dimsOf(infos), dx, dw, dbias),
);

/** Registers the conv kernels ('cpu', 'wasm') and their gradient. Idempotent; runs on import. */
export function registerConvKernels(): void {
  registerOnce(CONV_KERNEL, 'cpu', forward.cpu);
  registerOnce(CONV_GRAD_KERNEL, 'cpu', backward.cpu);
  registerOnce(CONV_KERNEL, 'wasm', forward.wasm);
  registerOnce(CONV_GRAD_KERNEL, 'wasm', backward.wasm);
  if (tf.getGradient(CONV_KERNEL) == null) {
    tf.registerGradient({
      kernelName: CONV_KERNEL,
      inputsToSave: [...INPUT_NAMES],
      gradFunc: (dy, saved) => {
        const [x, weight, bias] = saved;
        const [dx, dw, db] = tf.engine().runKernel<tf.Tensor[]>(CONV_GRAD_KERNEL, { x, weight, bias, dy: dy as tf.Tensor });
        return { x: () => dx, weight: () => dw, bias: () => db };
      },
    });
  }
}

/** True when the active backend (or `backendName`) has the fused conv kernels. */
export function hasConvKernel(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(CONV_KERNEL, backendName) != null && tf.getKernel(CONV_GRAD_KERNEL, backendName) != null;
}

/**
 * Depthwise causal conv: the fused kernel where the active backend has one, else causalDepthwiseConv.
 * @param x      (B, L, ED)
 * @param weight (K, ED)
 * @param bias   (ED) or null
 * @returns      (B, L, ED)
 */
export function causalConv(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  const [, , ed] = x.shape;
  if (x.rank !== 3 || weight.rank !== 2 || weight.shape[1] !== ed || (bias && (bias.rank !== 1 || bias.shape[0] !== ed))) {
    throw new Error(`causalConv: expected x (B, L, ED), weight (K, ED) and bias (ED), got [${x.shape}], [${weight.shape}], [${bias?.shape ?? 'none'}]`);
  }
  if (!hasConvKernel()) return causalDepthwiseConv(x, weight, bias);
  return tf.tidy(() => {
    const b = bias ?? tf.zeros([ed]); // (ED)
    const inputs = { x: tf.cast(x, 'float32'), weight: tf.cast(weight, 'float32'), bias: tf.cast(b, 'float32') };
    return tf.engine().runKernel(CONV_KERNEL, inputs as unknown as tf.NamedTensorMap) as tf.Tensor; // (B, L, ED)
  });
}

/**
 * Gradients of sum(causalConv(x, weight, bias) · dy), without a tape (for hand-written backward passes): the
 * gradient kernel where the active backend has one, else causalDepthwiseConvGrad.
 * @returns [dx (B, L, ED), dweight (K, ED), dbias (ED)]
 */
export function causalConvGrad(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, dy: tf.Tensor): tf.Tensor[] {
  if (!hasConvKernel()) return causalDepthwiseConvGrad(x, weight, dy);
  return tf.tidy(() => {
    const b = bias ?? tf.zeros([weight.shape[1] as number]); // (ED)
    return tf.engine().runKernel(CONV_GRAD_KERNEL, { x, weight, bias: b, dy } as unknown as tf.NamedTensorMap) as tf.Tensor[];
  });
}

registerConvKernels();
