/**
 * The depthwise causal conv kernels (MambaCausalConv1d, MambaCausalConv1dGrad; see ../../conv/causalConv.ts) for the 'webgpu'
 * backend, as WGSL compute shaders.
 *
 * Shape glossary:
 *   B  batch, L length, BL = B·L rows
 *   ED inner channels
 *   K  conv width (tap K−1 is the current step)
 *   R  row blocks of the weight gradient, ceil(BL / ROWS)
 *
 * Why: on webgpu every kernel is a dispatch with a fixed cost, and the composite conv (K shifted slices) runs
 * about 14 of them forward and 35 backward per layer; these take 1 forward and 4 backward.
 *
 * Programs (one invocation per output value, flat dispatch):
 *   forward   y[b, t, e] = bias[e] + Σ_k w[k, e] · x[b, t − (K−1) + k, e]                          (B, L, ED)
 *   input     dx[b, s, e] = Σ_k w[k, e] · dy[b, s + (K−1) − k, e]                                  (B, L, ED)
 *   weights   partial sums over blocks of ROWS rows: P[r, k, e] = Σ_rows dy · x shifted by tap k, and
 *             P[r, K, e] = Σ_rows dy (the bias)                                                     (R, K + 1, ED)
 * then tfjs's Sum over r and two Slices give dweight (K, ED) and dbias (ED).
 *
 * Like ./scan.ts, nothing is imported from @tensorflow/tfjs-backend-webgpu: programs are plain objects
 * with the fields its WebGPUProgram interface reads; registering for the name 'webgpu' works without the package.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { WebGPUBackendLike, WebGPUProgramLike, flatWgslProgram } from './common';
import { CONV_GRAD_KERNEL as GRAD_KERNEL, CONV_KERNEL as FORWARD_KERNEL } from '../names';

const BACKEND = 'webgpu';
/** Rows per block of the weight-gradient partial sums. */
const ROWS = 256;

/** A flat program of `count` invocations: `main(index)` runs `body` with nb, nl, ned (from input `sizesOf`) in scope. */
function program(key: string, K: number, outputShape: number[], count: number, variableNames: string[], sizesOf: string, body: string): WebGPUProgramLike {
  return flatWgslProgram(`mambaConv_${key}_K${K}`, outputShape, count, variableNames, `
  const CONV_K : i32 = ${K};
  const CONV_ROWS : i32 = ${ROWS};`, `
    let nb = uniforms.${sizesOf}Shape.x;
    let nl = uniforms.${sizesOf}Shape.y;
    let ned = uniforms.${sizesOf}Shape.z;${body}`);
}

/** Forward: inputs inX (B, L, ED), inW (K, ED), inBias (ED). */
function forwardProgram(B: number, L: number, ED: number, K: number): WebGPUProgramLike {
  return program('fwd', K, [B, L, ED], B * L * ED, ['inX', 'inW', 'inBias'], 'inX', `
    if (index >= nb * nl * ned) { return; }
    let e = index % ned;
    let t = (index / ned) % nl;
    var acc = inBias[e];
    for (var k = max(0, CONV_K - 1 - t); k < CONV_K; k++) {
      acc = acc + inW[k * ned + e] * inX[index + (k - (CONV_K - 1)) * ned];
    }
    result[index] = acc;`);
}

/** Input gradient: inputs inDy (B, L, ED), inW (K, ED). */
function inputGradProgram(B: number, L: number, ED: number, K: number): WebGPUProgramLike {
  return program('dx', K, [B, L, ED], B * L * ED, ['inDy', 'inW'], 'inDy', `
    if (index >= nb * nl * ned) { return; }
    let e = index % ned;
    let s = (index / ned) % nl;
    var acc = 0.0;
    for (var k = 0; k < CONV_K; k++) {
      let t = s + (CONV_K - 1) - k;
      if (t < nl) { acc = acc + inW[k * ned + e] * inDy[index + (t - s) * ned]; }
    }
    result[index] = acc;`);
}

/** Weight and bias gradient partials: inputs inX (B, L, ED), inDy (B, L, ED); output (R, K + 1, ED). */
function weightGradProgram(B: number, L: number, ED: number, K: number, R: number): WebGPUProgramLike {
  return program('dw', K, [R, K + 1, ED], R * (K + 1) * ED, ['inX', 'inDy'], 'inX', `
    let nr = (nb * nl + CONV_ROWS - 1) / CONV_ROWS;
    if (index >= nr * (CONV_K + 1) * ned) { return; }
    let e = index % ned;
    let j = (index / ned) % (CONV_K + 1);
    let r = index / (ned * (CONV_K + 1));
    let g1 = min(nb * nl, (r + 1) * CONV_ROWS);
    var acc = 0.0;
    for (var g = r * CONV_ROWS; g < g1; g++) {
      let t = g % nl;
      let dyv = inDy[g * ned + e];
      if (j == CONV_K) {
        acc = acc + dyv;
      } else {
        let shift = j - (CONV_K - 1);
        if (t + shift >= 0) { acc = acc + dyv * inX[(g + shift) * ned + e]; }
      }
    }
    result[index] = acc;`);
}

/** Runs a registered webgpu kernel of tfjs on TensorInfos. */
function run(be: WebGPUBackendLike, name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
  const k = tf.getKernel(name, BACKEND);
  if (k == null) throw new Error(`causal conv (webgpu): the webgpu backend has no '${name}' kernel`);
  return k.kernelFunc({ inputs, backend: be as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo;
}

function sizes(kernel: string, x: tf.TensorInfo, w: tf.TensorInfo, bias: tf.TensorInfo): [number, number, number, number] {
  const [B, L, ED] = x.shape; // (B, L, ED)
  if (x.shape.length !== 3 || w.shape.length !== 2 || w.shape[1] !== ED || bias.shape.length !== 1 || bias.shape[0] !== ED) {
    throw new Error(`${kernel} (webgpu): expected x (B, L, ED), weight (K, ED), bias (ED), got [${x.shape}], [${w.shape}], [${bias.shape}]`);
  }
  return [B, L, ED, w.shape[0]];
}

const webgpuForward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as unknown as WebGPUBackendLike;
  const [x, w, bias] = float32Inputs(FORWARD_KERNEL, inputs, ['x', 'weight', 'bias']);
  const [B, L, ED, K] = sizes(FORWARD_KERNEL, x, w, bias);
  return be.runWebGPUProgram(forwardProgram(B, L, ED, K), [x, w, bias], 'float32'); // (B, L, ED)
};

const webgpuBackward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as unknown as WebGPUBackendLike;
  const [x, w, bias, dy] = float32Inputs(GRAD_KERNEL, inputs, ['x', 'weight', 'bias', 'dy']);
  const [B, L, ED, K] = sizes(GRAD_KERNEL, x, w, bias);
  if (dy.shape.length !== 3 || dy.shape.some((s, i) => s !== x.shape[i])) {
    throw new Error(`${GRAD_KERNEL} (webgpu): expected dy like x [${x.shape}], got [${dy.shape}]`);
  }
  const R = Math.max(1, Math.ceil((B * L) / ROWS));
  const dx = be.runWebGPUProgram(inputGradProgram(B, L, ED, K), [dy, w], 'float32'); // (B, L, ED)
  const parts = be.runWebGPUProgram(weightGradProgram(B, L, ED, K, R), [x, dy], 'float32'); // (R, K + 1, ED)
  const total = run(be, 'Sum', { x: parts }, { axis: [0], keepDims: false }); // (K + 1, ED)
  const dw = run(be, 'Slice', { x: total }, { begin: [0, 0], size: [K, ED] }); // (K, ED)
  const dbRow = run(be, 'Slice', { x: total }, { begin: [K, 0], size: [1, ED] }); // (1, ED)
  const db = run(be, 'Reshape', { x: dbRow }, { shape: [ED] }); // (ED)
  for (const t of [parts, total, dbRow]) be.disposeData(t.dataId);
  return [dx, dw, db];
};

/** Registers the webgpu conv kernels (idempotent). The gradient is registered by ../conv.ts. */
export function registerConvWebgpuKernels(): void {
  registerOnce(FORWARD_KERNEL, BACKEND, webgpuForward);
  registerOnce(GRAD_KERNEL, BACKEND, webgpuBackward);
}

