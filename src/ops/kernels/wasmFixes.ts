/**
 * Faster 'Slice', 'Identity', 'Transpose' (2-D), 'Sum' (over leading axes) and 'Concat' kernels for the wasm
 * backend (same semantics as tfjs-backend-wasm 4.22's).
 *
 * Why: in tfjs-backend-wasm 4.22, Slice first copies its whole input out of the wasm heap (`readSync`, a fresh
 * ArrayBuffer) and only then copies the slice; Identity copies its input, and the engine runs Identity on
 * every tensor a kernel saves for its gradient. In a train step of Mamba(64, 2) at L 256 these copies took a
 * quarter of the time. Here Slice reads a view of the heap (no copy of the input) and Identity shares the input's
 * memory through the backend's reference count, as tfjs-backend-cpu's Identity does (tensors are immutable).
 * Its Transpose spends ~9 ns an element on a (1024, 128) matrix, and Sum over leading axes (every bias gradient)
 * transposes first; here a 2-D transpose (4-byte elements) and a leading-axes float32 sum (float64 accumulators) run
 * in the in-heap SIMD module (asm/layout.ts: 4 × 4 SIMD blocks; column sums), in place in the heap, split over the
 * heap pool when tfjs's threaded build makes the heap shared, with JS loops (32 × 32 tiles; one pass) where the
 * module is unavailable; Concat copies short rows with a loop instead of one subarray view per row and input.
 * String tensors and other cases go to the original kernels.
 *
 * Porting note: mamba.py has no counterpart; this works around the tfjs wasm backend.
 *
 * The replacement needs tfjs-backend-wasm's kernels registered first (importing the package registers them;
 * a later registration would overwrite ours), so it runs on import when they are, and from
 * selectBackend('wasm'). Idempotent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sliceInto, sumLeading, transpose2d } from './js/arrays';
import { heapPtr, type HeapBackend } from './kernelIO';
import { wasmHeapModule } from './simd/int8';
import { sumColumnsParallel, transposeParallel } from './simd/heapParallel';
import { WASM_FIXED_KERNELS } from './names';

/** The part of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend extends HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  incRef(dataId: tf.DataId): void;
}

/** Marker property on our kernel functions. */
const MARK = '__mambaTfjsWasmFix';


function makeSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    const be = args.backend as unknown as WasmBackend;
    const attrs = args.attrs as unknown as tf.SliceAttrs;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    const out = be.makeOutput(size, x.dtype);
    if (tf.util.sizeFromShape(size) === 0) return out;
    // Views after the allocation: makeOutput may grow (and so detach) the heap.
    const xv = be.typedArrayFromHeap(x); // (x.shape)
    const ov = be.typedArrayFromHeap(out); // (size)
    if (x.shape.length === 0) ov.set(xv);
    else sliceInto(xv, x.shape, begin, size, ov);
    return out;
  };
}

function makeIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}


function makeTranspose(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const perm = (args.attrs as unknown as tf.TransposeAttrs).perm;
    if (x.dtype === 'string' || x.shape.length !== 2 || perm[0] !== 1 || perm[1] !== 0) return original(args);
    const be = args.backend as unknown as WasmBackend;
    const [rows, cols] = x.shape;
    const out = be.makeOutput([cols, rows], x.dtype);
    const h = x.dtype === 'float32' || x.dtype === 'int32' ? wasmHeapModule(be) : null; // 4-byte elements: the SIMD module
    if (h && rows * cols > 0) {
      const [xp, yp] = [heapPtr(be, x), heapPtr(be, out)];
      if (!transposeParallel(h.memory, xp, yp, rows, cols)) h.mod.transposeRows(xp, yp, rows, cols, 0, rows); // (R, C) -> (C, R)
    } else {
      transpose2d(be.typedArrayFromHeap(x), rows, cols, be.typedArrayFromHeap(out)); // (R, C) -> (C, R)
    }
    return out;
  };
}


function makeSum(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return original(args);
    const be = args.backend as unknown as WasmBackend;
    const k = axes.length;
    const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = be.makeOutput(outShape, 'float32');
    const outer = tf.util.sizeFromShape(x.shape.slice(0, k));
    const inner = tf.util.sizeFromShape(x.shape.slice(k));
    const h = wasmHeapModule(be);
    if (h && outer * inner > 0) {
      const acc = be.makeOutput([2 * inner], 'float32'); // (inner) float64 scratch
      const [xp, yp, ap] = [heapPtr(be, x), heapPtr(be, out), heapPtr(be, acc)];
      if (!sumColumnsParallel(h.memory, xp, yp, ap, outer, inner)) h.mod.sumColumns(xp, yp, ap, outer, inner, 0, inner); // (outer, inner) -> (inner)
      be.disposeData(acc.dataId);
    } else {
      sumLeading(be.typedArrayFromHeap(x), outer, inner, be.typedArrayFromHeap(out)); // (outer, inner) -> (inner)
    }
    return out;
  };
}

/** Copy `n` values from src[so..] to dst[do..]: a plain loop for short runs (subarray views cost more there). */
function copyRun(src: tf.TypedArray, so: number, dst: tf.TypedArray, d0: number, n: number): void {
  if (n >= 256) dst.set(src.subarray(so, so + n), d0);
  else for (let i = 0; i < n; i++) dst[d0 + i] = src[so + i];
}

function makeConcat(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    if (inputs.length === 0 || inputs.some((t) => t.dtype === 'string' || t.dtype !== inputs[0].dtype)) return original(args);
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0].shape)[0];
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const be = args.backend as unknown as WasmBackend;
    const out = be.makeOutput(outShape, inputs[0].dtype);
    const outer = tf.util.sizeFromShape(outShape.slice(0, axis)); // rows
    const inner = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis))); // per input, values per row
    const width = inner.reduce((a, b) => a + b, 0);
    if (outer * width === 0) return out;
    const ov = be.typedArrayFromHeap(out); // (outer, width)
    let col = 0;
    inputs.forEach((t, i) => {
      const n = inner[i];
      if (n > 0) {
        const xv = be.typedArrayFromHeap(t); // (outer, n)
        for (let r = 0; r < outer; r++) copyRun(xv, r * n, ov, r * width + col, n);
      }
      col += n;
    });
    return out;
  };
}

const FIXES: Record<(typeof WASM_FIXED_KERNELS)[number], (original: tf.KernelFunc) => tf.KernelFunc> = {
  Slice: makeSlice, Identity: makeIdentity, Transpose: makeTranspose, Sum: makeSum, Concat: makeConcat,
};

/**
 * Replace the wasm backend's Slice, Identity, Transpose, Sum and Concat kernels with the ones above, when its kernels are registered.
 * @returns whether the wasm kernels are (now) ours
 */
export function registerWasmKernelFixes(): boolean {
  let done = true;
  for (const [name, make] of Object.entries(FIXES)) {
    const k = tf.getKernel(name, 'wasm');
    if (k == null) {
      done = false;
      continue;
    }
    if ((k.kernelFunc as unknown as Record<string, unknown>)[MARK] === true) continue;
    const fn = make(k.kernelFunc);
    Object.defineProperty(fn, MARK, { value: true });
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: fn });
  }
  return done;
}
