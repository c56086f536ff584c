/**
 * softplus(x) = log(1 + exp(x)) as a custom tfjs kernel for the 'cpu' and 'wasm' backends.
 *
 * Why: tfjs-backend-wasm's Softplus is scalar (about 20 ns an element here: 2.6 ms on a (4, 256, 128) Δ, 5 % of a
 * train step of Mamba(64, 2)); the SIMD module's softplusArray (asm/softplus.ts) takes about a tenth of that.
 * The JS fallback (module missing, MAMBA_TFJS_SCAN_IMPL=js) is Math.log1p(Math.exp(−|x|)) + max(x, 0).
 *
 * Kernel registered on import (idempotent): MambaSoftplus {x} -> y (same shape), with the gradient
 * dy · sigmoid(x). Every other backend uses tf.softplus.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuWasmKernels, registerOnce } from './kernelIO';
import { activeScanModule } from './fusedScanWasm';
import { Arena, ensureMemory, view } from './wasmArena';

/** Kernel name. */
export const SOFTPLUS_KERNEL = 'MambaSoftplus';

interface SoftplusExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  softplusArray(src: number, dst: number, count: number): void;
}

/** y = softplus(x), elementwise, through the SIMD module when it loads, else in JS. */
export function softplusInto(x: Float32Array, y: Float32Array): void {
  const m = activeScanModule() as unknown as SoftplusExports | null;
  const n = x.length;
  const ar = m && new Arena(m.heapBase());
  const p = ar && { x: ar.f32(n), y: ar.f32(n) };
  if (m && ar && p && n > 0 && typeof m.softplusArray === 'function' && ensureMemory(m.memory, ar.end)) {
    view(m.memory.buffer, p.x, n).set(x);
    m.softplusArray(p.x, p.y, n);
    y.set(view(m.memory.buffer, p.y, n));
    return;
  }
  for (let i = 0; i < n; i++) y[i] = Math.max(x[i], 0) + Math.log1p(Math.exp(-Math.abs(x[i])));
}

const kernels = cpuWasmKernels(SOFTPLUS_KERNEL, ['x'], ([x]) => [x.shape], ([x], [y]) => softplusInto(x, y));

/** Registers the softplus kernels ('cpu', 'wasm') and their gradient. Idempotent; runs on import. */
export function registerSoftplusKernels(): void {
  registerOnce(SOFTPLUS_KERNEL, 'cpu', kernels.cpu);
  registerOnce(SOFTPLUS_KERNEL, 'wasm', kernels.wasm);
  if (tf.getGradient(SOFTPLUS_KERNEL) == null) {
    tf.registerGradient({
      kernelName: SOFTPLUS_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(x)) }),
    });
  }
}

/** softplus(x) (any shape): the kernel above where the active backend has it, else tf.softplus. */
export function softplus(x: tf.Tensor): tf.Tensor {
  if (tf.getKernel(SOFTPLUS_KERNEL, tf.getBackend()) == null) return tf.softplus(x);
  return tf.tidy(() => tf.engine().runKernel(SOFTPLUS_KERNEL, { x: tf.cast(x, 'float32') }) as tf.Tensor);
}

registerSoftplusKernels();
