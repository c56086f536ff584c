/**
 * The int8 weight kernels for the 'cpu' and 'wasm' backends:
 * - MambaInt8MatMul {x (M, I) float32, q (O, RB/4) int32, scale (O), bias? (O)} → y (M, O) = x · dequant(q)ᵀ + bias;
 * - MambaInt8Gather {ids (n) int32, q (V, RB/4) int32, scale (V)}, attr cols = D → (n, D): embedding rows.
 *
 * Shape glossary: M activation rows, I inputs, O outputs, V vocabulary, D model width, RB bytes per weight row
 * (I rounded up to 4; rows of int8 packed 4 to an int32 word: see js/int8Math.ts).
 *
 * On wasm the product runs the SIMD module asm/int8.ts instantiated over tfjs's own heap (./simd/int8.ts): the
 * weights are read in place. On cpu (and where the module cannot load, or MAMBA_TFJS_SCAN_IMPL=js) the JS loops
 * of ./js/int8Math.ts run. Not differentiable: int8 models are for inference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CpuBackendLike, HeapBackend, heapPtr, registerOnce, wasmView } from './kernelIO';
import { INT8_GATHER_KERNEL, INT8_MATMUL_KERNEL } from './names';
import { int8Bytes, int8GatherJs, int8MatMulJs, int8RowBytes } from './js/int8Math';
import { wasmHeapModule } from './simd/int8';
import { int8MatVecParallel } from './simd/heapParallel';


type Info = tf.TensorInfo;

/** Checks the inputs of MambaInt8MatMul; returns them with M, I, O. */
function matMulDims(inputs: tf.NamedTensorInfoMap): { m: number; i: number; o: number; x: Info; q: Info; scale: Info; bias?: Info } {
  const { x, q, scale, bias } = inputs;
  const k = INT8_MATMUL_KERNEL;
  if (!x || !q || !scale) throw new Error(`${k}: expected inputs x, q and scale`);
  if (x.dtype !== 'float32' || x.shape.length !== 2) throw new Error(`${k}: expected x float32 (M, I), got ${x.dtype} [${x.shape}]`);
  const [m, i] = x.shape;
  const [o, words] = q.shape;
  if (q.dtype !== 'int32' || q.shape.length !== 2 || words * 4 !== int8RowBytes(i)) {
    throw new Error(`${k}: expected q int32 (O, ${int8RowBytes(i) / 4}) for ${i} inputs, got ${q.dtype} [${q.shape}]`);
  }
  for (const [name, t] of [['scale', scale], ['bias', bias]] as const) {
    if (t && (t.dtype !== 'float32' || t.shape.length !== 1 || t.shape[0] !== o)) {
      throw new Error(`${k}: expected ${name} float32 (${o}), got ${t.dtype} [${t.shape}]`);
    }
  }
  return { m, i, o, x, q, scale, bias };
}

function matMulCpu({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as CpuBackendLike;
  const { m, i, o, x, q, scale, bias } = matMulDims(inputs);
  const read = (t: tf.TensorInfo) => be.readSync(t.dataId) as Float32Array;
  const y = new Float32Array(m * o);
  int8MatMulJs(read(x), int8Bytes(be.readSync(q.dataId) as Int32Array), read(scale), bias ? read(bias) : null, y, m, i, o);
  return be.makeTensorInfo([m, o], 'float32', y);
}

function matMulWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as HeapBackend;
  const { m, i, o, x, q, scale, bias } = matMulDims(inputs);
  const out = be.makeOutput([m, o], 'float32');
  if (m === 0 || o === 0) return out;
  const heap = wasmHeapModule(be);
  if (heap) {
    const { mod, memory } = heap;
    const scratch = be.makeOutput([Math.ceil((m * i) / 2) + m], 'int32'); // x16 (M, I) int16, then sx (M)
    const ptr = (t: tf.TensorInfo) => heapPtr(be, t);
    const x16 = ptr(scratch);
    const sx = x16 + Math.ceil((m * i) / 2) * 4;
    mod.int8QuantizeRows(ptr(x), x16, sx, m, i);
    const args = [x16, sx, ptr(q), ptr(scale), bias ? ptr(bias) : 0, ptr(out)] as const;
    // One row (a decoding step) splits over threads where the heap is shared.
    if (m !== 1 || !int8MatVecParallel(memory, ...args, i, o, int8RowBytes(i))) mod.int8MatMul(...args, m, i, o, int8RowBytes(i));
    be.disposeData(scratch.dataId);
    return out;
  }
  const view = (t: tf.TensorInfo) => wasmView(be, t, INT8_MATMUL_KERNEL) as Float32Array;
  const qb = int8Bytes(wasmView(be, q, INT8_MATMUL_KERNEL) as Int32Array);
  int8MatMulJs(view(x), qb, view(scale), bias ? view(bias) : null, view(out), m, i, o);
  return out;
}

/** Checks the inputs of MambaInt8Gather; returns them with n and D. */
function gatherDims(inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): { n: number; d: number; ids: Info; q: Info; scale: Info } {
  const { ids, q, scale } = inputs;
  const k = INT8_GATHER_KERNEL;
  const d = attrs.cols as number;
  if (!ids || !q || !scale) throw new Error(`${k}: expected inputs ids, q and scale`);
  if (ids.dtype !== 'int32' || ids.shape.length !== 1) throw new Error(`${k}: expected ids int32 (n), got ${ids.dtype} [${ids.shape}]`);
  if (!Number.isInteger(d) || d < 1 || q.dtype !== 'int32' || q.shape.length !== 2 || q.shape[1] * 4 !== int8RowBytes(d)) {
    throw new Error(`${k}: expected q int32 (V, ${int8RowBytes(d) / 4}) for cols ${d}, got ${q.dtype} [${q.shape}]`);
  }
  if (scale.dtype !== 'float32' || scale.shape.length !== 1 || scale.shape[0] !== q.shape[0]) {
    throw new Error(`${k}: expected scale float32 (${q.shape[0]}), got ${scale.dtype} [${scale.shape}]`);
  }
  return { n: ids.shape[0], d, ids, q, scale };
}

function gatherCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const be = backend as CpuBackendLike;
  const { n, d, ids, q, scale } = gatherDims(inputs, attrs ?? {});
  const out = new Float32Array(n * d);
  int8GatherJs(be.readSync(ids.dataId) as Int32Array, int8Bytes(be.readSync(q.dataId) as Int32Array), be.readSync(scale.dataId) as Float32Array, out, d);
  return be.makeTensorInfo([n, d], 'float32', out);
}

function gatherWasm({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const be = backend as HeapBackend;
  const { n, d, ids, q, scale } = gatherDims(inputs, attrs ?? {});
  const out = be.makeOutput([n, d], 'float32');
  if (n === 0) return out;
  const view = (t: tf.TensorInfo) => wasmView(be, t, INT8_GATHER_KERNEL);
  int8GatherJs(view(ids) as Int32Array, int8Bytes(view(q) as Int32Array), view(scale) as Float32Array, view(out) as Float32Array, d);
  return out;
}

/** Registers the int8 kernels for 'cpu' and 'wasm'. Idempotent. */
export function registerInt8Kernels(): void {
  registerOnce(INT8_MATMUL_KERNEL, 'cpu', matMulCpu as tf.KernelFunc);
  registerOnce(INT8_MATMUL_KERNEL, 'wasm', matMulWasm as tf.KernelFunc);
  registerOnce(INT8_GATHER_KERNEL, 'cpu', gatherCpu as tf.KernelFunc);
  registerOnce(INT8_GATHER_KERNEL, 'wasm', gatherWasm as tf.KernelFunc);
}
