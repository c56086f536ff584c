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

/** Kernel name of the fused forward scan. */
export const FUSED_SCAN_KERNEL = 'MambaSelectiveScan';
/** Kernel name of the fused backward scan (six outputs). */
export const FUSED_SCAN_GRAD_KERNEL = 'MambaSelectiveScanGrad';
/** Backends that get the fused kernels. */
export const FUSED_SCAN_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

/** Input names of the forward kernel, in gradient order. */
const INPUT_NAMES = ['x', 'delta', 'A', 'B', 'C', 'D'] as const;

/** The part of tfjs-backend-cpu's MathBackendCPU the kernels use. */
interface CpuBackendLike {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** The part of tfjs-backend-wasm's BackendWasm the kernels use. */
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** Reads the scan sizes off the kernel inputs (shapes were validated by the op). */
function dimsOf(inputs: tf.NamedTensorInfoMap): FusedScanDims {
  const x = requireInput(inputs, 'x');
  const A = requireInput(inputs, 'A');
  const [B, L, ED] = x.shape; // (B, L, ED)
  return { B, L, ED, N: A.shape[1] };
}

/** Returns a named kernel input, failing clearly when absent. */
function requireInput(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`${FUSED_SCAN_KERNEL}: missing input '${name}'`);
  return t;
}

/** Asserts a kernel input is float32 (the op casts; direct runKernel callers must too). */
function requireFloat32(kernel: string, name: string, t: tf.TensorInfo): void {
  if (t.dtype !== 'float32') throw new Error(`${kernel}: input '${name}' must be float32, got ${t.dtype}`);
}

/** Reads a float32 input of the cpu backend without copying. */
function cpuF32(kernel: string, backend: CpuBackendLike, inputs: tf.NamedTensorInfoMap, name: string): Float32Array {
  const t = requireInput(inputs, name);
  requireFloat32(kernel, name, t);
  return backend.readSync(t.dataId) as Float32Array;
}

/** A Float32Array view of a tensor's bytes on the wasm heap. Create views only after all allocations. */
function wasmF32(backend: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  const rec = backend.dataIdMap.get(t.dataId);
  if (rec == null) throw new Error(`wasm kernel: tensor data not found on the wasm backend (shape [${t.shape}])`);
  return new Float32Array(backend.wasm.HEAPU8.buffer, rec.memoryOffset, tf.util.sizeFromShape(t.shape));
}

/** Output shapes of the grad kernel, in output order. */
function gradShapes(d: FusedScanDims): number[][] {
  return [[d.B, d.L, d.ED], [d.B, d.L, d.ED], [d.ED, d.N], [d.B, d.L, d.N], [d.B, d.L, d.N], [d.ED]];
}

/** cpu forward kernel. */
const cpuForward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as CpuBackendLike;
  const dims = dimsOf(inputs);
  const [x, delta, A, Bm, Cm, D] = INPUT_NAMES.map((n) => cpuF32(FUSED_SCAN_KERNEL, be, inputs, n));
  const y = fusedScanForwardFast(x, delta, A, Bm, Cm, D, dims); // (B, L, ED)
  return be.makeTensorInfo([dims.B, dims.L, dims.ED], 'float32', y);
};

/** cpu backward kernel. */
const cpuBackward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as CpuBackendLike;
  const dims = dimsOf(inputs);
  const [x, delta, A, Bm, Cm, D, dy] = [...INPUT_NAMES, 'dy'].map((n) => cpuF32(FUSED_SCAN_GRAD_KERNEL, be, inputs, n));
  const g = fusedScanBackwardFast(x, delta, A, Bm, Cm, D, dy, dims);
  const shapes = gradShapes(dims);
  return [g.dx, g.ddelta, g.dA, g.dB, g.dC, g.dD].map((v, i) => be.makeTensorInfo(shapes[i], 'float32', v));
};

/** wasm forward kernel: reads inputs from and writes y into the wasm heap. */
const wasmForward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as WasmBackendLike;
  const dims = dimsOf(inputs);
  const infos = INPUT_NAMES.map((n) => requireInput(inputs, n));
  infos.forEach((t, i) => requireFloat32(FUSED_SCAN_KERNEL, INPUT_NAMES[i], t));
  const out = be.makeOutput([dims.B, dims.L, dims.ED], 'float32'); // (B, L, ED); may grow the heap
  const [x, delta, A, Bm, Cm, D] = infos.map((t) => wasmF32(be, t));
  fusedScanForwardFast(x, delta, A, Bm, Cm, D, dims, wasmF32(be, out));
  return out;
};

/** wasm backward kernel: all six gradients are written straight into heap outputs. */
const wasmBackward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as WasmBackendLike;
  const dims = dimsOf(inputs);
  const names = [...INPUT_NAMES, 'dy'];
  const infos = names.map((n) => requireInput(inputs, n));
  infos.forEach((t, i) => requireFloat32(FUSED_SCAN_GRAD_KERNEL, names[i], t));
  const outs = gradShapes(dims).map((s) => be.makeOutput(s, 'float32')); // allocate all before viewing the heap
  const [x, delta, A, Bm, Cm, D, dy] = infos.map((t) => wasmF32(be, t));
  const [dx, ddelta, dA, dB, dC, dD] = outs.map((t) => wasmF32(be, t));
  fusedScanBackwardFast(x, delta, A, Bm, Cm, D, dy, dims, { dx, ddelta, dA, dB, dC, dD });
  return outs;
};

/** Registers `kernelFunc` for (name, backend) unless something already is. */
function registerOnce(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, backendName) == null) tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/**
 * Registers the fused-scan kernels ('cpu', 'wasm') and their gradient.
 * Safe to call any number of times; runs on import.
 */
export function registerFusedScanKernels(): void {
  registerOnce(FUSED_SCAN_KERNEL, 'cpu', cpuForward);
  registerOnce(FUSED_SCAN_GRAD_KERNEL, 'cpu', cpuBackward);
  registerOnce(FUSED_SCAN_KERNEL, 'wasm', wasmForward);
  registerOnce(FUSED_SCAN_GRAD_KERNEL, 'wasm', wasmBackward);
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
