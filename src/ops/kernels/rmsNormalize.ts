/**
 * RMS normalization over the last axis as one kernel each for the 'cpu' and 'wasm' backends (the WGSL versions are in
 * ./webgpu/rmsNormalize.ts, which also registers the forward's gradient for every backend):
 *   'MambaRmsNormalize'     {x}, attr eps      → y = x · r,  r = (mean(x²) + eps)^−½      (…, D)
 *   'MambaRmsNormalizeGrad' {x, dy}, attr eps  → dx = r · (dy − y · mean(dy · y))        (…, D)
 * On wasm the in-heap module (asm/rmsNorm.ts) runs in place in tfjs's heap, split by rows over the heap pool when the
 * heap is shared; on cpu, and where the module is unavailable, the JS loops below (sums in float64).
 *
 * Why: as tf ops the forward is five kernels (square, mean, add, rsqrt, mul) and the gradient about nine, each a pass
 * over the tensor: a train step of Mamba(64, 2) ran some 30 of them.
 *
 * Shape glossary: M rows (the product of the leading axes), D the last axis.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, heapPtr, registerOnce, type CpuBackendLike, type HeapBackend } from './kernelIO';
import { wasmHeapModule } from './simd/int8';
import { rowsHeapParallel } from './simd/heapParallel';
import { RMS_NORMALIZE_GRAD_KERNEL, RMS_NORMALIZE_KERNEL } from './names';

/** The float32 bits of eps as an int32 (the heap pool passes int32 arguments). */
function bitsOf(eps: number): number {
  return new Int32Array(new Float32Array([eps]).buffer)[0];
}

/** r = (mean(x²) + eps)^−½ of row m (float64 sums). */
function scaleOf(x: Float32Array, m: number, d: number, eps: number): number {
  let s = 0;
  for (let k = m * d; k < (m + 1) * d; k++) s += x[k] * x[k];
  return 1 / Math.sqrt(s / d + Math.fround(eps));
}

/** The JS loops: y (M, D) = x · r, or with dy the gradient dx = r · (dy − y · mean(dy · y)). */
function rmsLoops(x: Float32Array, out: Float32Array, d: number, eps: number, dy?: Float32Array): void {
  const rows = d > 0 ? x.length / d : 0;
  for (let m = 0; m < rows; m++) {
    const r = scaleOf(x, m, d, eps);
    if (dy == null) {
      for (let k = m * d; k < (m + 1) * d; k++) out[k] = x[k] * r;
      continue;
    }
    let s = 0;
    for (let k = m * d; k < (m + 1) * d; k++) s += dy[k] * x[k];
    const mean = (s * r) / d; // mean(dy · y)
    for (let k = m * d; k < (m + 1) * d; k++) out[k] = r * (dy[k] - x[k] * r * mean);
  }
}

/** Throws unless x has a non-empty last axis (and dy, when given, x's shape). */
function check(kernel: string, x: tf.TensorInfo, dy?: tf.TensorInfo): number {
  const d = x.shape[x.shape.length - 1] ?? 0;
  if (x.shape.length === 0 || d === 0) throw new Error(`${kernel}: expected x with a non-empty last axis, got [${x.shape}]`);
  if (dy && (dy.shape.length !== x.shape.length || dy.shape.some((v, i) => v !== x.shape[i]))) {
    throw new Error(`${kernel}: expected dy of x's shape [${x.shape}], got [${dy.shape}]`);
  }
  return d;
}

/** The kernel functions of `kernel` ('grad': with dy) for cpu and wasm. */
function kernels(kernel: string, grad: boolean): { cpu: tf.KernelFunc; wasm: tf.KernelFunc } {
  const names = grad ? ['x', 'dy'] : ['x'];
  return {
    cpu: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as CpuBackendLike;
      const [x, dy] = float32Inputs(kernel, inputs, names);
      const d = check(kernel, x, dy);
      const out = new Float32Array(tf.util.sizeFromShape(x.shape)); // (…, D)
      const read = (t: tf.TensorInfo) => be.readSync(t.dataId) as Float32Array;
      rmsLoops(read(x), out, d, (attrs as { eps: number }).eps, dy && read(dy));
      return be.makeTensorInfo(x.shape, 'float32', out);
    },
    wasm: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as HeapBackend & { typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray };
      const [x, dy] = float32Inputs(kernel, inputs, names);
      const d = check(kernel, x, dy);
      const eps = (attrs as { eps: number }).eps;
      const out = be.makeOutput(x.shape, 'float32'); // (…, D)
      const rows = tf.util.sizeFromShape(x.shape) / d;
      const heap = wasmHeapModule(be);
      if (heap) {
        const ptrs = [x, ...(dy ? [dy] : []), out].map((t) => heapPtr(be, t));
        const fn = grad ? 'rmsNormalizeGradRows' : 'rmsNormalizeRows';
        if (!rowsHeapParallel(heap.memory, fn, ptrs, d, bitsOf(eps), rows)) heap.mod[fn](...ptrs, d, bitsOf(eps), 0, rows);
      } else {
        const view = (t: tf.TensorInfo) => be.typedArrayFromHeap(t) as Float32Array;
        rmsLoops(view(x), view(out), d, eps, dy && view(dy));
      }
      return out;
    },
  };
}

const FORWARD = kernels(RMS_NORMALIZE_KERNEL, false);
const GRAD = kernels(RMS_NORMALIZE_GRAD_KERNEL, true);

/** Registers MambaRmsNormalize and MambaRmsNormalizeGrad for 'cpu' and 'wasm'. Idempotent. */
export function registerRmsNormalizeKernels(): void {
  registerOnce(RMS_NORMALIZE_KERNEL, 'cpu', FORWARD.cpu);
  registerOnce(RMS_NORMALIZE_KERNEL, 'wasm', FORWARD.wasm);
  registerOnce(RMS_NORMALIZE_GRAD_KERNEL, 'cpu', GRAD.cpu);
  registerOnce(RMS_NORMALIZE_GRAD_KERNEL, 'wasm', GRAD.wasm);
}
