/**
 * MambaSelectiveStep for the 'wasm' backend, and MambaNegExp (A = −exp(A_log) of a decoding step) for cpu and wasm, through the in-heap SIMD module (asm/step.ts, part of the int8
 * module: instantiated over tfjs-backend-wasm's own memory, so the step reads and writes tfjs's arrays in place).
 * Where the module is unavailable, MAMBA_TFJS_SCAN_IMPL is 'js', or N is not a multiple of 4, the JS loop of
 * ./js/stepMath.ts runs on views of the heap, as ./step.ts does.
 *
 * Shape letters: B batch, ED inner channels, N state size.
 *   {h (B, ED, N), x, delta (B, ED), A (ED, N), B, C (B, N), D (ED)} → [y (B, ED), h' (B, ED, N)]
 */
import * as tf from '@tensorflow/tfjs-core';
import { CpuBackendLike, HeapBackend, float32Inputs, heapPtr, wasmView } from './kernelIO';
import { NEG_EXP_KERNEL, SELECTIVE_STEP_KERNEL } from './names';
import { selectiveStepLoop } from './js/stepMath';
import { wasmHeapModule } from './simd/int8';

const INPUTS = ['h', 'x', 'delta', 'A', 'B', 'C', 'D'] as const;


/** The kernel function. */
export function selectiveStepWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo[] {
  const be = backend as HeapBackend;
  const ins = float32Inputs(SELECTIVE_STEP_KERNEL, inputs, INPUTS);
  const [b, ed, n] = ins[0].shape;
  const y = be.makeOutput([b, ed], 'float32');
  const hOut = be.makeOutput([b, ed, n], 'float32');
  const mod = n % 4 === 0 ? (wasmHeapModule(be)?.mod ?? null) : null;
  if (mod && b * ed > 0) {
    const tbl = be.makeOutput([48], 'float32'); // the exp constants (asm/step.ts)
    const ptr = (t: tf.TensorInfo) => heapPtr(be, t);
    mod.selectiveStepSimd(...(ins.map(ptr) as [number, number, number, number, number, number, number]), ptr(y), ptr(hOut), ptr(tbl), b, ed, n);
    be.disposeData(tbl.dataId);
    return [y, hOut];
  }
  const view = (t: tf.TensorInfo) => wasmView(be, t, SELECTIVE_STEP_KERNEL) as Float32Array;
  const [h, x, delta, A, Bm, Cm, D] = ins.map(view);
  selectiveStepLoop(h, x, delta, A, Bm, Cm, D, { B: b, ED: ed, N: n }, view(y), view(hOut));
  return [y, hOut];
}

/** MambaNegExp on wasm: the in-heap SIMD loop, or Math.exp on views. */
export function negExpWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as HeapBackend;
  const [x] = float32Inputs(NEG_EXP_KERNEL, inputs, ['x']);
  const y = be.makeOutput(x.shape, 'float32');
  const count = tf.util.sizeFromShape(x.shape);
  const mod = wasmHeapModule(be)?.mod ?? null;
  if (mod && count > 0) {
    const tbl = be.makeOutput([48], 'float32');
    const ptr = (t: tf.TensorInfo) => heapPtr(be, t);
    mod.negExpArray(ptr(x), ptr(y), count, ptr(tbl));
    be.disposeData(tbl.dataId);
    return y;
  }
  const src = wasmView(be, x, NEG_EXP_KERNEL) as Float32Array;
  const dst = wasmView(be, y, NEG_EXP_KERNEL) as Float32Array;
  for (let i = 0; i < count; i++) dst[i] = -Math.exp(src[i]);
  return y;
}

/** MambaNegExp on cpu: Math.exp. */
export function negExpCpu({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as CpuBackendLike;
  const [x] = float32Inputs(NEG_EXP_KERNEL, inputs, ['x']);
  const src = be.readSync(x.dataId) as Float32Array;
  const dst = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) dst[i] = -Math.exp(src[i]);
  return be.makeTensorInfo(x.shape, 'float32', dst);
}
