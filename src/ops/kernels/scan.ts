/**
 * The fused selective scan's kernels for the 'cpu' and 'wasm' backends, and its gradient.
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   N  state size
 *
 *   MambaSelectiveScan      {x, delta, A, B, C, D}     -> y (B, L, ED)
 *   MambaSelectiveScanGrad  {x, delta, A, B, C, D, dy} -> [dx, ddelta, dA, dB, dC, dD]
 *   MambaSelectiveScanState {x, delta, A, B, C, D}     -> [y (B, L, ED), h (B, ED, N)] (the final states; no gradient)
 * plus the gradient of MambaSelectiveScan, which calls MambaSelectiveScanGrad (on any backend that has it:
 * the WGSL versions are in ./webgpu/scan.ts).
 *
 * The arithmetic runs in ./simd/scan.ts: the WebAssembly SIMD module built from asm/scan.ts when available (the
 * flag MAMBA_TFJS_SCAN_IMPL = 'js' forces the JS loops of ./js/scanMath.ts). The cpu kernels pass the backend's
 * arrays; the wasm kernels pass views of the tfjs wasm heap (inputs read, outputs written in place). Registering
 * for 'wasm' works whether or not @tensorflow/tfjs-backend-wasm is loaded: the registry is keyed by backend name.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FusedScanDims } from './js/scanMath';
import { fusedScanBackwardFast, fusedScanForwardFast } from './simd/scan';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { FUSED_SCAN_GRAD_KERNEL, FUSED_SCAN_KERNEL, FUSED_SCAN_STATE_KERNEL } from './names';

/** Input names of the forward kernel, in gradient order. */
export const SCAN_INPUT_NAMES = ['x', 'delta', 'A', 'B', 'C', 'D'] as const;
/** Input names of the backward kernel. */
const GRAD_INPUT_NAMES = [...SCAN_INPUT_NAMES, 'dy'] as const;

/** Reads the scan sizes off the kernel inputs [x, delta, A, ...] (shapes were validated by the op). */
function dimsOf([x, , A]: tf.TensorInfo[]): FusedScanDims {
  const [B, L, ED] = x.shape; // (B, L, ED)
  return { B, L, ED, N: A.shape[1] };
}

/** Output shapes of the grad kernel, in output order. */
function gradShapes(d: FusedScanDims): number[][] {
  return [[d.B, d.L, d.ED], [d.B, d.L, d.ED], [d.ED, d.N], [d.B, d.L, d.N], [d.B, d.L, d.N], [d.ED]];
}

/** Forward kernels: y (B, L, ED) written into the output (on wasm, straight into the heap). */
const forward = cpuWasmKernels(
  FUSED_SCAN_KERNEL, SCAN_INPUT_NAMES, (infos) => {
    const { B, L, ED } = dimsOf(infos);
    return [[B, L, ED]];
  },
  ([x, delta, A, Bm, Cm, D], [y], infos) => {
    fusedScanForwardFast(x, delta, A, Bm, Cm, D, dimsOf(infos), y);
  },
);

/** Forward kernels that also return each batch's final state h (B, ED, N): a prompt's prefill. */
const withState = cpuWasmKernels(
  FUSED_SCAN_STATE_KERNEL, SCAN_INPUT_NAMES, (infos) => {
    const { B, L, ED, N } = dimsOf(infos);
    return [[B, L, ED], [B, ED, N]];
  },
  ([x, delta, A, Bm, Cm, D], [y, h], infos) => {
    fusedScanForwardFast(x, delta, A, Bm, Cm, D, dimsOf(infos), y, h);
  },
);

/** Backward kernels: all six gradients written into the outputs (on wasm, straight into the heap). */
const backward = cpuWasmKernels(
  FUSED_SCAN_GRAD_KERNEL, GRAD_INPUT_NAMES, (infos) => gradShapes(dimsOf(infos)),
  ([x, delta, A, Bm, Cm, D, dy], [dx, ddelta, dA, dB, dC, dD], infos) => {
    fusedScanBackwardFast(x, delta, A, Bm, Cm, D, dy, dimsOf(infos), { dx, ddelta, dA, dB, dC, dD });
  },
);

/** Registers the fused-scan kernels ('cpu', 'wasm'), the forward's gradient and the prefill's state kernel. Idempotent. */
export function registerScanKernels(): void {
  registerOnce(FUSED_SCAN_KERNEL, 'cpu', forward.cpu);
  registerOnce(FUSED_SCAN_GRAD_KERNEL, 'cpu', backward.cpu);
  registerOnce(FUSED_SCAN_KERNEL, 'wasm', forward.wasm);
  registerOnce(FUSED_SCAN_GRAD_KERNEL, 'wasm', backward.wasm);
  registerOnce(FUSED_SCAN_STATE_KERNEL, 'cpu', withState.cpu);
  registerOnce(FUSED_SCAN_STATE_KERNEL, 'wasm', withState.wasm);
  if (tf.getGradient(FUSED_SCAN_KERNEL) == null) {
    tf.registerGradient({
      kernelName: FUSED_SCAN_KERNEL,
      inputsToSave: [...SCAN_INPUT_NAMES],
      gradFunc: (dy, saved) => {
        const [x, delta, A, B, C, D] = saved;
        const grads = tf.engine().runKernel<tf.Tensor[]>(FUSED_SCAN_GRAD_KERNEL, { x, delta, A, B, C, D, dy: dy as tf.Tensor });
        const [dx, ddelta, dA, dB, dC, dD] = grads;
        return { x: () => dx, delta: () => ddelta, A: () => dA, B: () => dB, C: () => dC, D: () => dD };
      },
    });
  }
}
