/**
 * silu(x) = x · σ(x), its gradient, and the gates of the Mamba block built on it. Each runs as one kernel where the
 * active backend has it — cpu and wasm (SIMD, ../kernels/gates.ts), webgpu (one WGSL dispatch,
 * ../kernels/webgpu/siluGrad.ts, gating.ts) — else as tf ops. The kernels take float32 inputs of one shape; other
 * inputs (int32, broadcasting shapes) take the tf ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GATE_GRAD_KERNEL, SIGMOID_MUL_KERNEL, SILU_GRAD_KERNEL, SILU_KERNEL, SILU_MUL_KERNEL } from '../kernels/names';
import { activeBackendHas as hasKernel } from '../kernels/kernelIO';

const run = (kernel: string, inputs: Record<string, tf.Tensor>) => tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap) as tf.Tensor | tf.Tensor[];

/** Whether `kernel` can take `ts`: the active backend has it, and they are float32 of one shape. */
function kernelFor(kernel: string, ...ts: tf.Tensor[]): boolean {
  return ts.every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, ts[0].shape)) && hasKernel(kernel);
}

/** x · σ(x), any shape. */
export function silu(x: tf.Tensor): tf.Tensor {
  if (kernelFor(SILU_KERNEL, x)) return run(SILU_KERNEL, { x }) as tf.Tensor;
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** g · silu(x), x and g of one shape: the block's output gate y · silu(z). */
export function siluMul(x: tf.Tensor, g: tf.Tensor): tf.Tensor {
  if (kernelFor(SILU_MUL_KERNEL, x, g)) return run(SILU_MUL_KERNEL, { x, g }) as tf.Tensor;
  return tf.tidy(() => tf.mul(g, tf.mul(x, tf.sigmoid(x))));
}

/** g · σ(x), x and g of one shape: softplus's gradient dy · σ(x). */
export function sigmoidMul(x: tf.Tensor, g: tf.Tensor): tf.Tensor {
  if (kernelFor(SIGMOID_MUL_KERNEL, x, g)) return run(SIGMOID_MUL_KERNEL, { x, g }) as tf.Tensor;
  return tf.tidy(() => tf.mul(g, tf.sigmoid(x)));
}

/** dy · d silu(x)/dx = dy · s · (1 + x (1 − s)), s = σ(x); x and dy of one shape. */
export function siluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (kernelFor(SILU_GRAD_KERNEL, x, dy)) return run(SILU_GRAD_KERNEL, { x, dy }) as tf.Tensor;
  return tf.tidy(() => {
    const s = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
  });
}

/**
 * The backward of the gate out = y · silu(z) from dg = d/d out, z, y and dg of one shape: [g, dy, dz] =
 * [y · silu(z) (the gate's output again, for out_proj's weight gradient), dg · silu(z), dg · y · silu'(z)].
 * One kernel on cpu and wasm (σ(z) once); elsewhere siluMul, siluMul and siluGrad (one dispatch each on webgpu).
 */
export function gateGrad(z: tf.Tensor, y: tf.Tensor, dg: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (kernelFor(GATE_GRAD_KERNEL, z, y, dg)) return run(GATE_GRAD_KERNEL, { z, y, dg }) as [tf.Tensor, tf.Tensor, tf.Tensor];
  return tf.tidy(() => [siluMul(z, y), siluMul(z, dg), siluGrad(z, tf.mul(dg, y))]);
}
