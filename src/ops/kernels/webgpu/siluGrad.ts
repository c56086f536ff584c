/**
 * d/dx of silu(x) = x · sigmoid(x), times dy, as one WGSL kernel for the 'webgpu' backend ('MambaSiluGrad',
 * {x, dy} -> dx, same shapes), where every kernel is a dispatch: the composite takes six
 * (sigmoid, sub, mul, add, mul, mul). cpu and wasm have a SIMD version (../gates.ts); see ../../activations/silu.ts.
 *   dx = dy · s · (1 + x · (1 − s)),  s = sigmoid(x)
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { WebGPUBackendLike, WebGPUProgramLike, flatWgslProgram } from './common';
import { SILU_GRAD_KERNEL } from '../names';

/** Kernel name. */

function siluGradProgram(shape: number[]): WebGPUProgramLike {
  const body = `
    if (index >= uniforms.size) { return; }
    let x = inX[index];
    let s = 1.0 / (1.0 + exp(-x));
    result[index] = inDy[index] * s * (1.0 + x * (1.0 - s));`;
  // size: tfjs-webgpu then passes the output's element count as uniforms.size.
  return { ...flatWgslProgram('mambaSiluGrad', shape, tf.util.sizeFromShape(shape), ['inX', 'inDy'], '', body), size: true };
}

const webgpuSiluGrad: tf.KernelFunc = ({ inputs, backend }) => {
  const [x, dy] = float32Inputs(SILU_GRAD_KERNEL, inputs, ['x', 'dy']);
  if (x.shape.length !== dy.shape.length || x.shape.some((s, i) => s !== dy.shape[i])) {
    throw new Error(`${SILU_GRAD_KERNEL} (webgpu): expected x and dy of the same shape, got [${x.shape}] and [${dy.shape}]`);
  }
  return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(siluGradProgram(x.shape), [x, dy], 'float32');
};

/** Registers MambaSiluGrad for 'webgpu' (idempotent). */
export function registerSiluGradWebgpuKernel(): void {
  registerOnce(SILU_GRAD_KERNEL, 'webgpu', webgpuSiluGrad);
}
