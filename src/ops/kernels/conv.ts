/**
 * The depthwise causal conv1d's kernels (with its bias) for the 'cpu' and 'wasm' backends, and its gradient.
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   K  conv width (tap K−1 is the current step)
 *
 *   MambaCausalConv1d     {x (B, L, ED), weight (K, ED), bias (ED)}      -> y (B, L, ED)
 *   MambaCausalConv1dGrad {x, weight, bias, dy (B, L, ED)}             -> [dx (B, L, ED), dweight (K, ED), dbias (ED)]
 * plus the gradient of MambaCausalConv1d, which calls MambaCausalConv1dGrad (WGSL versions: ./webgpu/conv.ts).
 *
 * y[b, t, e] = bias[e] + Σ_k weight[k, e] · x[b, t − (K−1) + k, e], zeros before the start: the sum of
 * ../conv/compositeConv.ts (K shifted slices), in one pass instead of about 20 ops forward and 40 backward. The
 * arithmetic runs in ./simd/conv.ts (the SIMD module, else the JS loops of ./js/convMath.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { ConvDims } from './js/convMath';
import { convBackwardFast, convForwardFast } from './simd/conv';
import { CONV_GRAD_KERNEL, CONV_KERNEL } from './names';


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
