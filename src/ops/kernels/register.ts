/**
 * registerKernels(): the one call that registers every kernel of ./names.ts, called once by the package entry
 * (src/index.ts). Idempotent: each registration is skipped when its kernel is there already. Registering for a
 * backend ('wasm', 'webgpu') needs none of its packages: tfjs keys the registry by backend name only.
 */
import { registerScanKernels } from './scan';
import { registerConvKernels } from './conv';
import { registerSsdKernels } from './ssdScan';
import { registerSoftplusKernels } from './softplus';
import { registerGateKernels } from './gates';
import { registerRmsNormalizeKernels } from './rmsNormalize';
import { registerStepKernels } from './step';
import { registerSegmentSumKernels } from './segmentSum';
import { registerWasmKernelFixes } from './wasmFixes';
import { registerInt8Kernels } from './int8';
import { registerMixerStepKernels } from './mixerStep';
import { registerScanWebgpuKernels } from './webgpu/scan';
import { registerSsdWebgpuKernels } from './webgpu/ssd';
import { registerConvWebgpuKernels } from './webgpu/conv';
import { registerSiluGradWebgpuKernel } from './webgpu/siluGrad';
import { registerRmsNormalizeWebgpuKernels } from './webgpu/rmsNormalize';
import { registerGatingWebgpuKernels } from './webgpu/gating';
import { registerAdamWebgpuKernel } from './webgpu/adam';

/**
 * Registers the fused scan, the fused SSD (Mamba-2) scan, conv, softplus, gate and decoding-step kernels (cpu, wasm), their WGSL versions and the
 * silu gradient, gates, RMS normalization and FlatAdam's step (webgpu), the gradients of the differentiable ones, the O(size) UnsortedSegmentSum (cpu, wasm),
 * and, when tfjs-backend-wasm's kernels are registered already, the faster wasm Slice, Identity, Transpose, Sum
 * and Concat (selectBackend('wasm') repeats that step after loading the package).
 */
export function registerKernels(): void {
  registerScanKernels();
  registerSsdKernels();
  registerConvKernels();
  registerSoftplusKernels();
  registerGateKernels();
  registerRmsNormalizeKernels();
  registerStepKernels();
  registerSegmentSumKernels();
  registerScanWebgpuKernels();
  registerSsdWebgpuKernels();
  registerConvWebgpuKernels();
  registerSiluGradWebgpuKernel();
  registerRmsNormalizeWebgpuKernels();
  registerGatingWebgpuKernels();
  registerAdamWebgpuKernel();
  registerWasmKernelFixes();
  registerInt8Kernels();
  registerMixerStepKernels();
}
