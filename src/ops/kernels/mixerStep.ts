/**
 * MambaMixerStep for the 'wasm' backend: the recurrent part of a Mamba mixer's decoding step in ONE tfjs kernel
 * (issue 16: the unfused step runs about twenty small kernels per layer). In between in_proj and out_proj:
 * conv step + silu, x_proj (Δ, B, C), dt_proj + bias + softplus, A = −exp(A_log), the state update, the C
 * contraction, the D skip and the silu(z) gate. Runs the in-heap SIMD module (asm/mixerStep.ts, with asm/int8.ts's
 * int8MatMul for int8 x_proj / dt_proj) over tfjs-backend-wasm's own memory: no copies.
 *
 * Also MambaRmsNormStep, the RMS norm of a decoding step's rows (6 tfjs kernels → 1).
 *
 * Shape letters: B batch, ED inner channels, N state size (a multiple of 4), R Δ rank, K conv width, J = R + 2N,
 * RB bytes per int8 weight row.
 *   {xz (B, 2·ED), conv (B, K−1, ED), convW (K, ED), convB? (ED), xProj (ED, J) | int8 (J, RB/4) + xProjScale (J),
 *    dtProj (R, ED) | int8 (ED, RB/4) + dtProjScale (ED), dtBias (ED), aLog (ED, N), D (ED), h (B, ED, N)}
 *   → [y (B, ED) gated, conv' (B, K−1, ED), h' (B, ED, N)]
 */
import * as tf from '@tensorflow/tfjs-core';
import { HeapBackend, heapPtr, registerOnce } from './kernelIO';
import { MATVEC_STEP_KERNEL, MIXER_STEP_KERNEL, RMS_NORM_STEP_KERNEL } from './names';
import { Int8WasmExports, wasmHeapMemory, wasmHeapModule } from './simd/int8';
import { int8RowBytes } from './js/int8Math';
import { projectF32Parallel } from './simd/heapParallel';


/** The module over the wasm backend's heap, or null (not wasm, no SIMD, or MAMBA_TFJS_SCAN_IMPL=js). */
function heapModule(backend: unknown): Int8WasmExports | null {
  return wasmHeapModule(backend)?.mod ?? null;
}

/** True when MambaMixerStep and MambaRmsNormStep can run now: the wasm backend is active and its SIMD module loads. */
export function mixerStepAvailable(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(MIXER_STEP_KERNEL, 'wasm') != null && heapModule(tf.backend()) != null;
}

/** Checks one input's dtype and shape; returns it. */
function need(inputs: tf.NamedTensorInfoMap, name: string, dtype: string, shape: number[], kernel = MIXER_STEP_KERNEL): tf.TensorInfo {
  const t = inputs[name];
  if (t == null || t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    const got = t ? `${t.dtype} [${t.shape}]` : 'nothing';
    throw new Error(`src/ops/kernels/mixerStep.ts ${kernel}: expected ${name} ${dtype} [${shape}], got ${got}`);
  }
  return t;
}

/** The kernel function. */
function mixerStepWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo[] {
  const be = backend as HeapBackend;
  const mod = heapModule(be);
  if (!mod) throw new Error(`src/ops/kernels/mixerStep.ts ${MIXER_STEP_KERNEL}: expected the wasm SIMD module, which did not load`);
  const [b, ed, n] = inputs.h?.shape ?? [0, 0, 0];
  const k = inputs.convW?.shape[0] ?? 0;
  const int8 = inputs.xProjScale != null;
  const j = (int8 ? inputs.xProj?.shape[0] : inputs.xProj?.shape[1]) ?? 0;
  const r = j - 2 * n;
  if (!(n > 0 && n % 4 === 0 && r > 0 && k > 1)) {
    throw new Error(`src/ops/kernels/mixerStep.ts ${MIXER_STEP_KERNEL}: expected h (B, ED, N) with N a multiple of 4, x_proj with R+2N outputs, K > 1; got h [${inputs.h?.shape}], x_proj [${inputs.xProj?.shape}], convW [${inputs.convW?.shape}]`);
  }
  const f = 'float32';
  const xz = need(inputs, 'xz', f, [b, 2 * ed]);
  const conv = need(inputs, 'conv', f, [b, k - 1, ed]);
  const convW = need(inputs, 'convW', f, [k, ed]);
  const convB = inputs.convB ? need(inputs, 'convB', f, [ed]) : null;
  const xProj = int8 ? need(inputs, 'xProj', 'int32', [j, int8RowBytes(ed) / 4]) : need(inputs, 'xProj', f, [ed, j]);
  const xProjScale = int8 ? need(inputs, 'xProjScale', f, [j]) : null;
  const dtProj = int8 ? need(inputs, 'dtProj', 'int32', [ed, int8RowBytes(r) / 4]) : need(inputs, 'dtProj', f, [r, ed]);
  const dtProjScale = int8 ? need(inputs, 'dtProjScale', f, [ed]) : null;
  const dtBias = need(inputs, 'dtBias', f, [ed]);
  const aLog = need(inputs, 'aLog', f, [ed, n]);
  const d = need(inputs, 'D', f, [ed]);
  const h = need(inputs, 'h', f, [b, ed, n]);
  const y = be.makeOutput([b, ed], f);
  const convOut = be.makeOutput([b, k - 1, ed], f);
  const hOut = be.makeOutput([b, ed, n], f);
  if (b === 0) return [y, convOut, hOut];
  // Scratch, in float32 words: exp table 48 | dbc B·J | dtRaw B·ED | xc B·ED | dt B·R | x16 B·max(ED, R)/2 | sx B.
  const x16Words = Math.ceil((b * Math.max(ed, r)) / 2);
  const scratch = be.makeOutput([48 + b * (j + 2 * ed + r) + x16Words + b], f);
  const ptr = (t: tf.TensorInfo) => heapPtr(be, t);
  const tbl = ptr(scratch);
  const dbc = tbl + 48 * 4;
  const dtRaw = dbc + b * j * 4;
  const xc = dtRaw + b * ed * 4;
  const dt = xc + b * ed * 4;
  const x16 = dt + b * r * 4;
  const sx = x16 + x16Words * 4;
  mod.mixerConvSilu(ptr(xz), ptr(conv), ptr(convW), convB ? ptr(convB) : 0, xc, ptr(convOut), tbl, b, ed, k);
  if (int8) {
    mod.int8QuantizeRows(xc, x16, sx, b, ed);
    mod.int8MatMul(x16, sx, ptr(xProj), ptr(xProjScale!), 0, dbc, b, ed, j, int8RowBytes(ed));
    const heap = new Float32Array(be.wasm.HEAPU8.buffer);
    for (let m = 0; m < b; m++) heap.copyWithin(dt / 4 + m * r, dbc / 4 + m * j, dbc / 4 + m * j + r); // (B, R) contiguous
    mod.int8QuantizeRows(dt, x16, sx, b, r);
    mod.int8MatMul(x16, sx, ptr(dtProj), ptr(dtProjScale!), ptr(dtBias), dtRaw, b, r, ed, int8RowBytes(r));
  } else {
    mod.mixerProjectF32(xc, ed, ptr(xProj), 0, dbc, b, ed, j);
    mod.mixerProjectF32(dbc, j, ptr(dtProj), ptr(dtBias), dtRaw, b, r, ed);
  }
  mod.mixerScanGate(ptr(h), xc, dtRaw, ptr(aLog), dbc, ptr(d), ptr(xz), ptr(y), ptr(hOut), tbl, b, ed, n, r);
  be.disposeData(scratch.dataId);
  return [y, convOut, hOut];
}

/** MambaRmsNormStep: {x (M, D), weight (D)}, attr eps → (M, D). */
function rmsNormStepWasm({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const be = backend as HeapBackend;
  const mod = heapModule(be);
  const [m, d] = inputs.x?.shape ?? [];
  const eps = attrs?.eps as number;
  if (!mod || !(d > 0) || typeof eps !== 'number') {
    throw new Error(`src/ops/kernels/mixerStep.ts ${RMS_NORM_STEP_KERNEL}: expected the SIMD module, x (M, D) and attr eps; got x [${inputs.x?.shape}], eps ${String(eps)}`);
  }
  const x = need(inputs, 'x', 'float32', [m, d], RMS_NORM_STEP_KERNEL);
  const w = need(inputs, 'weight', 'float32', [d], RMS_NORM_STEP_KERNEL);
  const y = be.makeOutput([m, d], 'float32');
  const ptr = (t: tf.TensorInfo) => heapPtr(be, t);
  if (m > 0) mod.rmsNormRows(ptr(x), ptr(w), ptr(y), m, d, eps);
  return y;
}

/** MambaMatVecStep: {x (M, I), w (I, O), bias? (O)} → (M, O), streaming w once per row of x. */
function matVecStepWasm({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as HeapBackend;
  const mod = heapModule(be);
  const [m, i] = inputs.x?.shape ?? [0, 0];
  const o = inputs.w?.shape[1] ?? 0;
  if (!mod || !(i > 0) || !(o > 0)) {
    throw new Error(`src/ops/kernels/mixerStep.ts ${MATVEC_STEP_KERNEL}: expected the SIMD module, x (M, I) and w (I, O); got x [${inputs.x?.shape}], w [${inputs.w?.shape}]`);
  }
  const k = MATVEC_STEP_KERNEL;
  const x = need(inputs, 'x', 'float32', [m, i], k);
  const w = need(inputs, 'w', 'float32', [i, o], k);
  const bias = inputs.bias ? need(inputs, 'bias', 'float32', [o], k) : null;
  const y = be.makeOutput([m, o], 'float32');
  const ptr = (t: tf.TensorInfo) => heapPtr(be, t);
  if (m === 0) return y;
  const args = [ptr(x), i, ptr(w), bias ? ptr(bias) : 0, ptr(y), m, i, o] as const;
  if (!projectF32Parallel(wasmHeapMemory(be)!, ...args)) mod.mixerProjectF32(...args); // threads where the heap is shared
  return y;
}

/**
 * A decoding step's float32 projection x (M, I) · w (I, O) [+ bias (O)] → (M, O) through MambaMatVecStep: on
 * wasm it streams w at ~1.3–1.8× the speed of tfjs's MatMul for one row (measured at mamba-130m's shapes).
 */
export function matVecStep(x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor2D {
  return tf.engine().runKernel(MATVEC_STEP_KERNEL, { x, w, ...(bias ? { bias } : {}) } as never) as tf.Tensor2D; // (M, O)
}

/** Registers MambaMixerStep, MambaRmsNormStep and MambaMatVecStep for 'wasm'. Idempotent. */
export function registerMixerStepKernels(): void {
  registerOnce(MATVEC_STEP_KERNEL, 'wasm', matVecStepWasm as unknown as tf.KernelFunc);
  registerOnce(MIXER_STEP_KERNEL, 'wasm', mixerStepWasm as unknown as tf.KernelFunc);
  registerOnce(RMS_NORM_STEP_KERNEL, 'wasm', rmsNormStepWasm as unknown as tf.KernelFunc);
}
