/**
 * The fused Mamba-2 (SSD) scan's kernels for the 'webgpu' backend (programs in ./ssdPrograms.ts; the gradient
 * registration, one for every backend, in ../ssdScan.ts).
 *
 * Shape glossary: B batch, L length, H heads, P head dim, G groups, N state size.
 *
 *   MambaSsdScan     {x, dt, A, B, C, D, h0}             → [y (B, L, H, P), state (B, H, P, N)]
 *   MambaSsdScanGrad {x, dt, A, B, C, D, h0, dy, dstate} → [dx, ddt, dA, dB, dC, dD, dh0]
 *
 * Memory of the backward (floats): the outputs, ddt per p (B·L·H·P), dB/dC per head (2·B·L·H·N), and per channel
 * ⌈L/T⌉ + T + 1 states of N (T ≈ √L): O(B·L·H·(P + N) + B·H·P·N·√L), never (B, L, H, P, N).
 * Limits: P and N ≤ WEBGPU_SSD_MAX_STATE (private arrays); ops/ssd/fusedSsd.ts checks them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { float32Inputs, registerOnce } from '../kernelIO';
import { SSD_SCAN_GRAD_KERNEL, SSD_SCAN_KERNEL } from '../names';
import type { WebGPUBackendLike } from './common';
import { KernelScope, scoped, zeros } from './scan';
import { gradXLayout, ssdForwardProgram, ssdGpuDims, ssdGradBCProgram, ssdGradXProgram } from './ssdPrograms';
import { ssdForwardShapes, ssdGradShapes, ssdDimsOf } from '../ssdScan';

const BACKEND = 'webgpu';
const NAMES = ['x', 'dt', 'A', 'B', 'C', 'D', 'h0'];

/** Runs one of our programs in the scope. */
function run(ks: KernelScope, be: WebGPUBackendLike, program: ReturnType<typeof ssdForwardProgram>, inputs: tf.TensorInfo[]): tf.TensorInfo {
  return ks.track(be.runWebGPUProgram(program, inputs, 'float32'));
}

const webgpuForward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as unknown as WebGPUBackendLike;
  const ins = float32Inputs(`${SSD_SCAN_KERNEL} (webgpu)`, inputs, NAMES);
  const d = ssdGpuDims(ssdDimsOf(ins));
  const [yShape, sShape] = ssdForwardShapes(d);
  if (tf.util.sizeFromShape(yShape) === 0 || d.N === 0) return [zeros(be, yShape), zeros(be, sShape)];
  return scoped(be, 1, (ks) => {
    const out = run(ks, be, ssdForwardProgram(d), ins); // [y | state]
    const ny = tf.util.sizeFromShape(yShape);
    return [ks.range(out, 0, ny, yShape), ks.range(out, ny, tf.util.sizeFromShape(sShape), sShape)];
  });
};

const webgpuBackward: tf.KernelFunc = ({ inputs, backend }) => {
  const be = backend as unknown as WebGPUBackendLike;
  const [x, dt, A, Bm, Cm, D, h0, dy, dstate] = float32Inputs(`${SSD_SCAN_GRAD_KERNEL} (webgpu)`, inputs, [...NAMES, 'dy', 'dstate']);
  const d = ssdGpuDims(ssdDimsOf([x, dt, A, Bm, Cm, D, h0]));
  const shapes = ssdGradShapes(d);
  if (tf.util.sizeFromShape(shapes[0]) === 0 || d.N === 0) return shapes.map((s) => zeros(be, s));
  const { B, L, H, P, G, N } = d;
  return scoped(be, 1, (ks) => {
    const flat = (t: tf.TensorInfo) => ks.reshape(t, [tf.util.sizeFromShape(t.shape)]);
    const AD = ks.run('Concat', [ks.reshape(A, [H, 1]), ks.reshape(D, [H, 1])], { axis: 1 }); // (H, 2)
    const HS = ks.run('Concat', [flat(h0), flat(dstate)], { axis: 0 }); // (2·B·H·P·N)
    const lay = gradXLayout(d);
    const gx = run(ks, be, ssdGradXProgram(d), [x, dt, AD, Bm, Cm, dy, HS]);
    const bhp = B * H * P;
    const dx = ks.range(gx, 0, lay.e, [B, L, H, P]); // (B, L, H, P)
    const ddt = ks.sumRows(ks.range(gx, lay.e, lay.e, [B * L * H, P])); // (B·L·H)
    const dA = ks.run('Sum', { x: ks.range(gx, 2 * lay.e, bhp, [B, H, P]) }, { axis: [0, 2], keepDims: false }); // (H)
    const dD = ks.run('Sum', { x: ks.range(gx, 2 * lay.e + bhp, bhp, [B, H, P]) }, { axis: [0, 2], keepDims: false }); // (H)
    const dh0 = ks.range(gx, 2 * lay.e + 2 * bhp, lay.s, [B, H, P, N]); // (B, H, P, N)
    const bc = run(ks, be, ssdGradBCProgram(d), [x, dt, A, Bm, Cm, dy, HS]); // (2·B·L·H·N)
    const perGroup = (k: number) => ks.run('Sum', { x: ks.range(bc, k * B * L * H * N, B * L * H * N, [B, L, G, H / G, N]) },
      { axis: [3], keepDims: false }); // (B, L, G, N)
    return [dx, ks.reshape(ddt, [B, L, H]), dA, perGroup(0), perGroup(1), dD, dh0];
  });
};

/** Registers the webgpu fused-SSD kernels. Safe to call any number of times (and without tfjs-backend-webgpu). */
export function registerSsdWebgpuKernels(): void {
  registerOnce(SSD_SCAN_KERNEL, BACKEND, webgpuForward);
  registerOnce(SSD_SCAN_GRAD_KERNEL, BACKEND, webgpuBackward);
}
