/**
 * Elementwise kernels of the wasm backend run by the in-heap SIMD module (asm/int8.ts's root: asm/gates.ts, and
 * asm/mixerStep.ts's softplusHeapArray) in place in tfjs-backend-wasm's heap: no copy in or out, split over the heap
 * pool (./simd/heapParallel.ts) when tfjs's threaded build shares the heap. Where the module is unavailable (the flag
 * MAMBA_TFJS_SCAN_IMPL=js, no WebAssembly SIMD) the kernel given as `copying` runs instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, heapPtr, type HeapBackend } from './kernelIO';
import { wasmHeapModule } from './simd/int8';
import { GATE_TABLE_BYTES } from './simd/gates';
import { elementwiseHeapParallel } from './simd/heapParallel';
import type { HeapElementwiseFunction } from './simd/pool';

/** Throws unless every input has the first one's shape. */
export function sameShapes(kernel: string, names: readonly string[], infos: tf.TensorInfo[]): void {
  const [a] = infos;
  infos.forEach((t, i) => {
    if (t.shape.length !== a.shape.length || t.shape.some((s, k) => s !== a.shape[k])) {
      throw new Error(`${kernel}: expected ${names[i]} of the shape of ${names[0]} [${a.shape}], got [${t.shape}]`);
    }
  });
}

/**
 * The wasm kernel `kernel` {names…} → `outputs` tensors of the first input's shape, computed by the in-heap export
 * fn(...inputs, ...outputs, count, tbl), tbl the constants table of asm/gates.ts (GATE_TABLE_BYTES, filled by
 * fillGateTable: exp's constants, then the gates' own); `copying` where the in-heap module is unavailable.
 */
export function inHeapElementwise(kernel: string, names: readonly string[], outputs: number, fn: HeapElementwiseFunction, copying: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as HeapBackend;
    const heap = wasmHeapModule(be);
    if (heap == null || typeof heap.mod[fn] !== 'function') return copying(args);
    const infos = float32Inputs(kernel, args.inputs, names);
    sameShapes(kernel, names, infos);
    const n = tf.util.sizeFromShape(infos[0].shape);
    const outs = Array.from({ length: outputs }, () => be.makeOutput(infos[0].shape, 'float32')); // each (x's shape)
    if (n > 0) {
      const tbl = be.makeOutput([GATE_TABLE_BYTES / 4], 'float32'); // scratch: the constants
      const tp = heapPtr(be, tbl);
      heap.mod.fillGateTable(tp);
      const ptrs = [...infos, ...outs].map((t) => heapPtr(be, t));
      if (!elementwiseHeapParallel(heap.memory, fn, ptrs, n, tp)) heap.mod[fn](...ptrs, n, tp);
      be.disposeData(tbl.dataId);
    }
    return outputs === 1 ? outs[0] : outs;
  };
}
