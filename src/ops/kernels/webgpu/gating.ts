/**
 * The block's elementwise gates as one WGSL dispatch each on the 'webgpu' backend, where tfjs runs every op as its
 * own dispatch (tens of µs of host time each, whatever the size):
 *   'MambaSilu'       {x}    → x · σ(x)        (the composite: sigmoid, mul)
 *   'MambaSiluMul'    {x, g} → g · x · σ(x)    (the output gate y · silu(z): sigmoid, mul, mul)
 *   'MambaSigmoidMul' {x, g} → g · σ(x)        (softplus's gradient, dΔ · σ(Δ_raw): sigmoid, mul)
 * x and g of one shape. Other backends use the composites (../../activations/silu.ts, softplus.ts). MambaSilu and
 * MambaSiluMul have gradients (autodiff through the layer-by-layer path); MambaSigmoidMul is used in backward
 * passes only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { WebGPUBackendLike, flatWgslProgram } from './common';
import { SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from '../names';

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

const siluGrad = (x: tf.Tensor, dy: tf.Tensor) => tf.engine().runKernel(SILU_GRAD_KERNEL, { x, dy } as unknown as tf.NamedTensorMap) as tf.Tensor;

/** Registers the three kernels for 'webgpu' and the gradients of MambaSilu and MambaSiluMul (idempotent). */
export function registerGatingWebgpuKernels(): void {
  for (const name of Object.keys(EXPR)) registerOnce(name, 'webgpu', kernel(name));
  if (tf.getGradient(SILU_KERNEL) == null) {
    tf.registerGradient({ kernelName: SILU_KERNEL, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => siluGrad(x, dy as tf.Tensor) }) });
  }
  if (tf.getGradient(SILU_MUL_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SILU_MUL_KERNEL,
      inputsToSave: ['x', 'g'],
      gradFunc: (dy, [x, g]) => ({
        x: () => siluGrad(x, tf.mul(dy as tf.Tensor, g)),
        g: () => tf.engine().runKernel(SILU_MUL_KERNEL, { x, g: dy } as unknown as tf.NamedTensorMap) as tf.Tensor,
      }),
    });
  }
}
