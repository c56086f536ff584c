/**
 * The block's elementwise gates as one kernel each for the 'cpu' and 'wasm' backends (SIMD over the worker pool:
 * ./simd/gates.ts, asm/gates.ts), and the gradients of the differentiable ones for every backend:
 *   'MambaSilu'       {x}        → x · σ(x)
 *   'MambaSiluMul'    {x, g}     → g · x · σ(x)
 *   'MambaSigmoidMul' {x, g}     → g · σ(x)                   (backward passes only: softplus's gradient)
 *   'MambaSiluGrad'   {x, dy}    → dy · σ(x)(1 + x(1 − σ(x)))  (backward passes only)
 *   'MambaGateGrad'   {z, y, dg} → [g, dy, dz] = [y · silu(z), dg · silu(z), dg · y · silu'(z)] (the fused
 *                                  block's gate backward, σ(z) once; backward passes only)
 * Inputs float32 and of one shape; outputs of that shape.
 *
 * Why: tfjs-wasm runs the composites (Sigmoid, Mul, Sub, Add: up to six kernels, each a pass over memory) on one
 * thread; here each gate is one SIMD pass. On wasm it runs in the in-heap module over tfjs's heap (no copies; split
 * over the heap pool when tfjs's threaded build shares the heap); on cpu, and on wasm without the in-heap module, the
 * scan.wasm module (arrays copied in and out, split over the worker pool when large).
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuWasmKernels, float32Inputs, heapPtr, registerOnce, type HeapBackend } from './kernelIO';
import { int8Wasm, wasmHeapMemory } from './simd/int8';
import { gateParallel } from './simd/heapParallel';
import type { GateFunction } from './simd/pool';
import { GATE_TABLE_BYTES, gateGradInto, sigmoidMulInto, siluGradInto, siluInto, siluMulInto } from './simd/gates';
import { GATE_GRAD_KERNEL, SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from './names';
import { siluGrad, siluMul } from '../activations/silu';

/** Throws unless every input has the first one's shape. */
function sameShapes(kernel: string, names: readonly string[], infos: tf.TensorInfo[]): void {
  const [a] = infos;
  infos.forEach((t, i) => {
    if (t.shape.length !== a.shape.length || t.shape.some((s, k) => s !== a.shape[k])) {
      throw new Error(`${kernel}: expected ${names[i]} of the shape of ${names[0]} [${a.shape}], got [${t.shape}]`);
    }
  });
}

/** cpuWasmKernels for an elementwise gate: every input and `outputs` outputs of the first input's shape. */
function gateKernels(kernel: string, names: readonly string[], outputs: number, body: (ins: Float32Array[], outs: Float32Array[]) => void) {
  return cpuWasmKernels(kernel, names, (infos) => Array.from({ length: outputs }, () => infos[0].shape), (ins, outs, infos) => {
    sameShapes(kernel, names, infos);
    body(ins, outs);
  });
}

const COPYING: Record<string, { cpu: tf.KernelFunc; wasm: tf.KernelFunc }> = {
  [SILU_KERNEL]: gateKernels(SILU_KERNEL, ['x'], 1, ([x], [o]) => siluInto(x, o)),
  [SILU_MUL_KERNEL]: gateKernels(SILU_MUL_KERNEL, ['x', 'g'], 1, ([x, g], [o]) => siluMulInto(x, g, o)),
  [SIGMOID_MUL_KERNEL]: gateKernels(SIGMOID_MUL_KERNEL, ['x', 'g'], 1, ([x, g], [o]) => sigmoidMulInto(x, g, o)),
  [SILU_GRAD_KERNEL]: gateKernels(SILU_GRAD_KERNEL, ['x', 'dy'], 1, ([x, dy], [o]) => siluGradInto(x, dy, o)),
  [GATE_GRAD_KERNEL]: gateKernels(GATE_GRAD_KERNEL, ['z', 'y', 'dg'], 3, ([z, y, dg], [g, dy, dz]) => gateGradInto(z, y, dg, g, dy, dz)),
};

/**
 * The wasm kernel of gate `kernel` (asm export `fn`): the in-heap module reads and writes tfjs-backend-wasm's heap in
 * place (no copies), split over the heap pool when the heap is shared (tfjs's threaded build); `copying` (the
 * scan.wasm module, arrays copied in and out, or the JS loops) where the in-heap module is unavailable.
 */
function inHeapGate(kernel: string, names: readonly string[], outputs: number, fn: GateFunction, copying: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as HeapBackend;
    const memory = wasmHeapMemory(be);
    const m = memory ? int8Wasm(memory) : null;
    if (memory == null || m == null || typeof m[fn] !== 'function') return copying(args);
    const infos = float32Inputs(kernel, args.inputs, names);
    sameShapes(kernel, names, infos);
    const n = tf.util.sizeFromShape(infos[0].shape);
    const outs = Array.from({ length: outputs }, () => be.makeOutput(infos[0].shape, 'float32')); // each (x's shape)
    if (n > 0) {
      const tbl = be.makeOutput([GATE_TABLE_BYTES / 4], 'float32'); // the constants, scratch
      const tp = heapPtr(be, tbl);
      m.fillGateTable(tp);
      const ptrs = [...infos, ...outs].map((t) => heapPtr(be, t));
      if (!gateParallel(memory, fn, ptrs, n, tp)) m[fn](...ptrs, n, tp);
      be.disposeData(tbl.dataId);
    }
    return outputs === 1 ? outs[0] : outs;
  };
}

const ARRAYS: Record<string, [GateFunction, readonly string[], number]> = {
  [SILU_KERNEL]: ['siluArray', ['x'], 1],
  [SILU_MUL_KERNEL]: ['siluMulArray', ['x', 'g'], 1],
  [SIGMOID_MUL_KERNEL]: ['sigmoidMulArray', ['x', 'g'], 1],
  [SILU_GRAD_KERNEL]: ['siluGradArray', ['x', 'dy'], 1],
  [GATE_GRAD_KERNEL]: ['gateGradArray', ['z', 'y', 'dg'], 3],
};

const KERNELS: Record<string, { cpu: tf.KernelFunc; wasm: tf.KernelFunc }> = Object.fromEntries(Object.entries(COPYING).map(([name, k]) => {
  const [fn, names, outputs] = ARRAYS[name];
  return [name, { cpu: k.cpu, wasm: inHeapGate(name, names, outputs, fn, k.wasm) }];
}));

/**
 * Registers the five gate kernels for 'cpu' and 'wasm', and the gradients of MambaSilu and MambaSiluMul (used on
 * every backend that has those kernels: cpu, wasm, webgpu). Idempotent.
 */
export function registerGateKernels(): void {
  for (const [name, k] of Object.entries(KERNELS)) {
    registerOnce(name, 'cpu', k.cpu);
    registerOnce(name, 'wasm', k.wasm);
  }
  if (tf.getGradient(SILU_KERNEL) == null) {
    tf.registerGradient({ kernelName: SILU_KERNEL, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => siluGrad(x, dy as tf.Tensor) }) });
  }
  if (tf.getGradient(SILU_MUL_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SILU_MUL_KERNEL,
      inputsToSave: ['x', 'g'],
      gradFunc: (dy, [x, g]) => ({
        x: () => siluGrad(x, tf.mul(dy as tf.Tensor, g)),
        g: () => siluMul(x, dy as tf.Tensor),
      }),
    });
  }
}
