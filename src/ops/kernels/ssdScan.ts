/**
 * The fused Mamba-2 (SSD) scan's kernels for the 'cpu' and 'wasm' backends, and its gradient (one for every
 * backend; the WGSL kernels are in ./webgpu/ssd.ts).
 *
 * Shape glossary: B batch, L length, H heads, P head dim, G groups, N state size.
 *
 *   MambaSsdScan     {x, dt, A, B, C, D, h0}                → [y (B, L, H, P), state (B, H, P, N)]
 *   MambaSsdScanGrad {x, dt, A, B, C, D, h0, dy, dstate}    → [dx, ddt, dA, dB, dC, dD, dh0]
 *
 * The arithmetic runs in ./simd/ssd.ts (the WebAssembly SIMD module, or the JS loops of ./js/ssdMath.ts when the
 * flag MAMBA_TFJS_SCAN_IMPL is 'js'). The cpu kernels pass the backend's arrays, the wasm kernels views of its heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SsdArrays, SsdDims } from './js/ssdMath';
import { ssdBackwardFast, ssdForwardFast } from './simd/ssd';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { SSD_SCAN_GRAD_KERNEL, SSD_SCAN_KERNEL } from './names';

/** Input names of the forward kernel, in gradient order. */
export const SSD_INPUT_NAMES = ['x', 'dt', 'A', 'B', 'C', 'D', 'h0'] as const;
/** Input names of the backward kernel. */
const GRAD_INPUT_NAMES = [...SSD_INPUT_NAMES, 'dy', 'dstate'] as const;

/** The sizes from the inputs [x (B, L, H, P), dt, A, B (B, L, G, N), ...] (the op validated the shapes). */
export function ssdDimsOf(infos: tf.TensorInfo[]): SsdDims {
  const [B, L, H, P] = infos[0].shape; // (B, L, H, P)
  const [, , G, N] = infos[3].shape; // (B, L, G, N)
  return { B, L, H, P, G, N };
}

/** Output shapes of the forward: y (B, L, H, P), state (B, H, P, N). */
export function ssdForwardShapes(d: SsdDims): number[][] {
  return [[d.B, d.L, d.H, d.P], [d.B, d.H, d.P, d.N]];
}

/** Output shapes of the backward, in output order (those of x, dt, A, B, C, D, h0). */
export function ssdGradShapes(d: SsdDims): number[][] {
  const { B, L, H, P, G, N } = d;
  return [[B, L, H, P], [B, L, H], [H], [B, L, G, N], [B, L, G, N], [H], [B, H, P, N]];
}

/** The seven input arrays by name. */
function arrays([x, dt, A, Bm, Cm, D, h0]: Float32Array[]): SsdArrays {
  return { x, dt, A, Bm, Cm, D, h0 };
}

const forward = cpuWasmKernels(
  SSD_SCAN_KERNEL, SSD_INPUT_NAMES, (infos) => ssdForwardShapes(ssdDimsOf(infos)),
  (ins, [y, state], infos) => {
    ssdForwardFast(arrays(ins), ssdDimsOf(infos), { y, state });
  },
);

const backward = cpuWasmKernels(
  SSD_SCAN_GRAD_KERNEL, GRAD_INPUT_NAMES, (infos) => ssdGradShapes(ssdDimsOf(infos)),
  (ins, [dx, ddt, dA, dB, dC, dD, dh0], infos) => {
    ssdBackwardFast(arrays(ins), ins[7], ins[8], ssdDimsOf(infos), { dx, ddt, dA, dB, dC, dD, dh0 });
  },
);

/** Registers the fused SSD kernels ('cpu', 'wasm') and the gradient of MambaSsdScan. Idempotent. */
export function registerSsdKernels(): void {
  registerOnce(SSD_SCAN_KERNEL, 'cpu', forward.cpu);
  registerOnce(SSD_SCAN_GRAD_KERNEL, 'cpu', backward.cpu);
  registerOnce(SSD_SCAN_KERNEL, 'wasm', forward.wasm);
  registerOnce(SSD_SCAN_GRAD_KERNEL, 'wasm', backward.wasm);
  if (tf.getGradient(SSD_SCAN_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SSD_SCAN_KERNEL,
      inputsToSave: [...SSD_INPUT_NAMES],
      gradFunc: (dys, saved) => {
        const [dy, dstate] = dys as tf.Tensor[]; // (B, L, H, P), (B, H, P, N); tfjs fills an unused one with zeros
        const [x, dt, A, B, C, D, h0] = saved;
        const g = tf.engine().runKernel<tf.Tensor[]>(SSD_SCAN_GRAD_KERNEL, { x, dt, A, B, C, D, h0, dy, dstate });
        return Object.fromEntries(SSD_INPUT_NAMES.map((k, n) => [k, () => g[n]]));
      },
    });
  }
}
