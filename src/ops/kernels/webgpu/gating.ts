/**
 * The block's elementwise gates as one WGSL dispatch each on the 'webgpu' backend, where tfjs runs every op as its
 * own dispatch (tens of µs of host time each, whatever the size):
 *   'MambaSilu'       {x}    → x · σ(x)        (the composite: sigmoid, mul)
 *   'MambaSiluMul'    {x, g} → g · x · σ(x)    (the output gate y · silu(z): sigmoid, mul, mul)
 *   'MambaSigmoidMul' {x, g} → g · σ(x)        (softplus's gradient, dΔ · σ(Δ_raw): sigmoid, mul)
 * x and g of one shape. cpu and wasm have SIMD versions (../gates.ts, which also registers the gradients of MambaSilu
 * and MambaSiluMul for every backend); MambaSigmoidMul is used in backward passes only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { WebGPUBackendLike, flatWgslProgram } from './common';
import { SIGMOID_MUL_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from '../names';

/** WGSL expression of each kernel in x = inX[index], g = inG[index], s = σ(x). */
const EXPR: Record<string, { inputs: string[]; expr: string }> = {
  [SILU_KERNEL]: { inputs: ['x'], expr: 'x * s' },
  [SILU_MUL_KERNEL]: { inputs: ['x', 'g'], expr: 'inG[index] * x * s' },
  [SIGMOID_MUL_KERNEL]: { inputs: ['x', 'g'], expr: 'inG[index] * s' },
};

function kernel(name: string): tf.KernelFunc {
  const { inputs: names, expr } = EXPR[name];
  return ({ inputs, backend }) => {
    const ts = float32Inputs(name, inputs, names);
    const [x, g] = ts;
    if (g && (g.shape.length !== x.shape.length || g.shape.some((s, i) => s !== x.shape[i]))) {
      throw new Error(`${name} (webgpu): expected x and g of the same shape, got [${x.shape}] and [${g.shape}]`);
    }
    const body = `
    if (index >= uniforms.size) { return; }
    let x = inX[index];
    let s = 1.0 / (1.0 + exp(-x));
    result[index] = ${expr};`;
    const vars = names.map((n) => `in${n.toUpperCase()}`);
    // size: tfjs-webgpu then passes the output's element count as uniforms.size.
    const program = { ...flatWgslProgram(name, x.shape, tf.util.sizeFromShape(x.shape), vars, '', body), size: true };
    return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, ts, 'float32');
  };
}

/** Registers the three kernels for 'webgpu' (idempotent); their gradients are registered by ../gates.ts. */
export function registerGatingWebgpuKernels(): void {
  for (const name of Object.keys(EXPR)) registerOnce(name, 'webgpu', kernel(name));
}
