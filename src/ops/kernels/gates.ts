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
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { inHeapElementwise, sameShapes } from './inHeap';
import type { GateFunction } from './simd/pool';
import { gateGradInto, sigmoidMulInto, siluGradInto, siluInto, siluMulInto } from './simd/gates';
import { GATE_GRAD_KERNEL, SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from './names';
import { siluGrad, siluMul } from '../activations/silu';

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

const ARRAYS: Record<string, [GateFunction, readonly string[], number]> = {
  [SILU_KERNEL]: ['siluArray', ['x'], 1],
  [SILU_MUL_KERNEL]: ['siluMulArray', ['x', 'g'], 1],
  [SIGMOID_MUL_KERNEL]: ['sigmoidMulArray', ['x', 'g'], 1],
  [SILU_GRAD_KERNEL]: ['siluGradArray', ['x', 'dy'], 1],
  [GATE_GRAD_KERNEL]: ['gateGradArray', ['z', 'y', 'dg'], 3],
};

const KERNELS: Record<string, { cpu: tf.KernelFunc; wasm: tf.KernelFunc }> = Object.fromEntries(Object.entries(COPYING).map(([name, k]) => {
  const [fn, names, outputs] = ARRAYS[name];
  return [name, { cpu: k.cpu, wasm: inHeapElementwise(name, names, outputs, fn, k.wasm) }];
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
