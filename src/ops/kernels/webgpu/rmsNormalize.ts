/**
 * RMS normalization over the last axis, y = x · r with r = (mean(x²) + eps)^−½, and its gradient
 * dx = r · (dy − y · mean(dy · y)), each as one WGSL kernel for the 'webgpu' backend ('MambaRmsNormalize' {x} → y,
 * 'MambaRmsNormalizeGrad' {x, dy} → dx; attr eps). The composites in ../../norm/rms.ts take five and seven
 * dispatches; on webgpu each dispatch costs tens of µs of host time, whatever its size.
 *
 * Shape letters: M rows (every axis but the last), D the normalized (last) axis.
 * One invocation per row walks its D values (two passes forward, three backward); a row's reads stay in the
 * invocation's cache lines, so the kernel is memory-bound like the composite, in one dispatch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { WebGPUBackendLike, WebGPUProgramLike, flatWgslProgram } from './common';
import { RMS_NORMALIZE_GRAD_KERNEL, RMS_NORMALIZE_KERNEL } from '../names';

/** Uniforms of both programs. */
const UNIFORMS = 'nRows : i32, nD : i32, eps : f32,';

/** WGSL: nd, o (the row's first index) and r = (mean(x²) + eps)^−½ of row `index` of inX; returns past the last row. */
const ROW_SCALE = `
    if (index >= uniforms.nRows) { return; }
    let nd = uniforms.nD;
    let o = index * nd;
    var ss = 0.0;
    for (var i = 0; i < nd; i++) { let v = inX[o + i]; ss += v * v; }
    let r = 1.0 / sqrt(ss / f32(nd) + uniforms.eps);`;

function program(kind: 'forward' | 'grad', shape: number[]): WebGPUProgramLike {
  const d = shape[shape.length - 1];
  const rows = tf.util.sizeFromShape(shape) / d;
  const body = kind === 'forward'
    ? `${ROW_SCALE}
    for (var i = 0; i < nd; i++) { result[o + i] = inX[o + i] * r; }`
    : `${ROW_SCALE}
    var dp = 0.0;
    for (var i = 0; i < nd; i++) { dp += inDy[o + i] * inX[o + i]; }
    let m = dp * r / f32(nd);   // mean(dy · y), y = x · r
    for (var i = 0; i < nd; i++) { result[o + i] = r * (inDy[o + i] - inX[o + i] * r * m); }`;
  const names = kind === 'forward' ? ['inX'] : ['inX', 'inDy'];
  return { ...flatWgslProgram(`mambaRmsNormalize_${kind}`, shape, rows, names, '', body), uniforms: UNIFORMS };
}

function run(name: string, kind: 'forward' | 'grad', args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const ts = float32Inputs(name, inputs, kind === 'forward' ? ['x'] : ['x', 'dy']);
  const x = ts[0];
  if (ts[1] && (ts[1].shape.length !== x.shape.length || ts[1].shape.some((s, i) => s !== x.shape[i]))) {
    throw new Error(`${name} (webgpu): expected x and dy of the same shape, got [${x.shape}] and [${ts[1].shape}]`);
  }
  const eps = Number((attrs as { eps?: number }).eps);
  if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`${name} (webgpu): expected attr eps a finite number >= 0, got ${String(eps)}`);
  const d = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, d);
  if (x.shape.length === 0 || d === 0 || rows === 0) {
    throw new Error(`${name} (webgpu): expected x with a non-empty last axis and at least one row, got [${x.shape}]`);
  }
  const uniforms = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [d] }, { type: 'float32' as const, data: [eps] }];
  return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program(kind, x.shape), ts, 'float32', uniforms); // (…, D)
}

/**
 * Registers MambaRmsNormalize and MambaRmsNormalizeGrad for 'webgpu', and the forward's gradient (for autodiff:
 * FalconMamba's Δ/B/C norms and Mamba-2's gated norm outside the fused block). Idempotent.
 */
export function registerRmsNormalizeWebgpuKernels(): void {
  registerOnce(RMS_NORMALIZE_KERNEL, 'webgpu', (a) => run(RMS_NORMALIZE_KERNEL, 'forward', a));
  registerOnce(RMS_NORMALIZE_GRAD_KERNEL, 'webgpu', (a) => run(RMS_NORMALIZE_GRAD_KERNEL, 'grad', a));
  if (tf.getGradient(RMS_NORMALIZE_KERNEL) == null) {
    tf.registerGradient({
      kernelName: RMS_NORMALIZE_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs) => ({
        x: () => tf.engine().runKernel(RMS_NORMALIZE_GRAD_KERNEL, { x, dy } as unknown as tf.NamedTensorMap, { eps: (attrs as { eps: number }).eps }) as tf.Tensor,
      }),
    });
  }
}
