/**
 * Fused selective scan as custom tfjs kernels for the 'cpu' and 'wasm' backends.
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   N  state size
 *
 * Kernels registered on import (idempotent, see {@link registerFusedScanKernels}):
 *   MambaSelectiveScan     {x, delta, A, B, C, D}     -> y (B, L, ED)
 *   MambaSelectiveScanGrad {x, delta, A, B, C, D, dy} -> [dx, ddelta, dA, dB, dC, dD]
 * plus the gradient of MambaSelectiveScan, which calls MambaSelectiveScanGrad.
 * Importing this module also imports ./segmentSum, which registers the O(size)
 * UnsortedSegmentSum (tf.gather's gradient) for 'cpu' and 'wasm', and
 * ./fusedScanWebgpu, which registers WGSL versions of both kernels for 'webgpu'.
 *
 * The arithmetic runs in ./fusedScanWasm: the WebAssembly SIMD module built from
 * asm/scan.ts when available (MAMBA_TFJS_SCAN_IMPL=js forces the JS loops of
 * ./fusedScanMath). The cpu kernels pass the backend's arrays; the wasm kernels
 * pass views of the tfjs wasm heap (inputs read, outputs written in place).
 * Registering for 'wasm' works whether or not @tensorflow/tfjs-backend-wasm is
 * loaded: the kernel registry is keyed by backend name only.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedScanDims } from './fusedScanMath';
import { fusedScanBackwardFast, fusedScanForwardFast } from './fusedScanWasm';
import './segmentSum'; // registers UnsortedSegmentSum for cpu and wasm on import
import './fusedScanWebgpu'; // registers the webgpu kernels (no webgpu package needed to import)
import { cpuWasmKernels, registerOnce } from './kernelIO';

/** Kernel name of the fused forward scan. */
export const FUSED_SCAN_KERNEL = 'MambaSelectiveScan';
/** Kernel name of the fused backward scan (six outputs). */
export const FUSED_SCAN_GRAD_KERNEL = 'MambaSelectiveScanGrad';
/** Backends that get the fused kernels. */
export const FUSED_SCAN_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

/** Input names of the forward kernel, in gradient order. */
const INPUT_NAMES = ['x', 'delta', 'A', 'B', 'C', 'D'] as const;
/** Input names of the backward kernel. */
const GRAD_INPUT_NAMES = [...INPUT_NAMES, 'dy'] as const;

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
  FUSED_SCAN_KERNEL, INPUT_NAMES, (infos) => {
    const { B, L, ED } = dimsOf(infos);
    return [[B, L, ED]];
  },
  ([x, delta, A, Bm, Cm, D], [y], infos) => {
    fusedScanForwardFast(x, delta, A, Bm, Cm, D, dimsOf(infos), y);
  },
);

/** Backward kernels: all six gradients written into the outputs (on wasm, straight into the heap). */
const backward = cpuWasmKernels(
  FUSED_SCAN_GRAD_KERNEL, GRAD_INPUT_NAMES, (infos) => gradShapes(dimsOf(infos)),
  ([x, delta, A, Bm, Cm, D, dy], [dx, ddelta, dA, dB, dC, dD], infos) => {
    fusedScanBackwardFast(x, delta, A, Bm, Cm, D, dy, dimsOf(infos), { dx, ddelta, dA, dB, dC, dD });
  },
);

/**
 * Registers the fused-scan kernels ('cpu', 'wasm') and their gradient.
 * Safe to call any number of times; runs on import.
 */
export function registerFusedScanKernels(): void {
  registerOnce(FUSED_SCAN_KERNEL, 'cpu', forward.cpu);
  registerOnce(FUSED_SCAN_GRAD_KERNEL, 'cpu', backward.cpu);
  registerOnce(FUSED_SCAN_KERNEL, 'wasm', forward.wasm);
  registerOnce(FUSED_SCAN_GRAD_KERNEL, 'wasm', backward.wasm);
  if (tf.getGradient(FUSED_SCAN_KERNEL) == null) {
    tf.registerGradient({
      kernelName: FUSED_SCAN_KERNEL,
      inputsToSave: [...INPUT_NAMES],
      gradFunc: (dy, saved) => {
        const [x, delta, A, B, C, D] = saved;
        const grads = tf.engine().runKernel<tf.Tensor[]>(FUSED_SCAN_GRAD_KERNEL, { x, delta, A, B, C, D, dy: dy as tf.Tensor });
        const [dx, ddelta, dA, dB, dC, dD] = grads;
        return { x: () => dx, delta: () => ddelta, A: () => dA, B: () => dB, C: () => dC, D: () => dD };
      },
    });
  }
}

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

/**
 * Selective scan y = SSM(x; delta, A, B, C) + D * x, discretization included,
 * computed by the fused kernel of the active backend ('cpu' or 'wasm').
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
  return tf.tidy(() => {
    const f32 = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
    const inputs = { x: f32(x), delta: f32(delta), A: f32(A), B: f32(B), C: f32(C), D: f32(D) };
    return tf.engine().runKernel<tf.Tensor3D>(FUSED_SCAN_KERNEL, inputs); // (B, L, ED)
  });
}

registerFusedScanKernels();
