/**
 * mamba-tfjs: Mamba (Gu & Dao, 2023) for TensorFlow.js — the core entry, for browsers and bundles as for Node:
 * ops, layers, losses, generation, tasks, training helpers and backend choice. It imports only
 * @tensorflow/tfjs-core and @tensorflow/tfjs-layers (no Node built-in); the file-system side is in ./node.ts.
 *
 * Importing it registers the layers for (de)serialization and every kernel (one call: registerKernels(),
 * ops/kernels/register.ts).
 */
export { pscan, scanCore } from './ops/scan/pscan';
export { scanSequential } from './ops/scan/scanSequential';
export { selectiveScan, resolveScanMode } from './ops/scan/selectiveScan';
export type { ScanMode, SelectiveScanOptions } from './ops/scan/selectiveScan';
export { fusedSelectiveScan, hasFusedScanKernel } from './ops/scan/fusedSelectiveScan';
export { RMSNorm } from './layers/rmsNorm';
export type { RMSNormArgs } from './layers/rmsNorm';
export { MambaBlock } from './layers/mambaBlock';
export type { MambaBlockArgs } from './layers/mambaBlock';
export { ResidualBlock } from './layers/residualBlock';
export { Mamba } from './layers/mamba';
export type { MambaArgs } from './layers/mamba';
export { MambaLM, paddedVocabSize } from './layers/mambaLM';
export { LMBase } from './layers/lmBase';
export type { LMArgs, LMStack, VocabArgs } from './layers/lmBase';
export type { NamedWeightsArgs } from './layers/parentLayer';
export { ResidualBase, StackBase } from './layers/stackBase';
export type { BlockCache, Mixer, StackConfig } from './layers/stackBase';
export type { MambaLMArgs } from './layers/mambaLM';
export type { MambaConfig } from './layers/config';
export { quantize } from './layers/quantize';
export { int8Layout, int8WeightShapes, quantizeWeight, INT8_SCALE_SUFFIX } from './layers/int8';
export type { WeightDtype, TypedWeightShape, ProjectionWeights } from './layers/int8';
export type { Int8Rows } from './ops/kernels/js/int8Math';
export type { MambaBlockScales } from './layers/mambaBlock';
export type { MambaLMInt8Scales } from './layers/mambaLM';
export { mambaLayer, rmsNorm, mambaBlock, residualBlock, mambaLMLayer, createMambaLM, findMambaLM } from './layers/factories';
export { Mamba2Block } from './layers/mamba2/mamba2Block';
export type { Mamba2BlockArgs, Mamba2BlockCache } from './layers/mamba2/mamba2Block';
export { Mamba2, Mamba2ResidualBlock } from './layers/mamba2/mamba2';
export type { Mamba2Args } from './layers/mamba2/mamba2';
export { Mamba2LM } from './layers/mamba2/mamba2LM';
export type { Mamba2LMArgs } from './layers/mamba2/mamba2LM';
export type { Mamba2Config } from './layers/mamba2/config';
export { mamba2Layer, mamba2Block, createMamba2LM, findMamba2LM } from './layers/mamba2/factories';
export { ssd, ssdChunked, ssdSequential, ssdStep, resolveSsdMode } from './ops/ssd/ssd';
export { fusedSsd, hasFusedSsdKernel } from './ops/ssd/fusedSsd';
export type { FusedSsdResult } from './ops/ssd/fusedSsd';
export type { SsdMode, SsdInputs } from './ops/ssd/ssd';
export { lmLoss } from './losses';
export { selectBackend, defaultBackend, backendAvailable, setBackendPlatform, BACKENDS } from './backend';
export type { BackendPlatform } from './backend';
export { registerWasmKernelFixes } from './ops/kernels/wasmFixes';
export { registerKernels } from './ops/kernels/register';
export * as flags from './flags';
export { quietCpuBanner } from './cpuBanner';
export type { BackendName } from './backend';
export { mambaLMTopology } from './io/tfjs/topology';
export { mambaLMWeightShapes } from './io/hf/weightPlan';
export { generate } from './generation/generate';
export type { GenerateOptions, GenerateResult } from './generation/generate';
export { argmax, sampleToken } from './generation/sampling';
export type { SamplingOptions } from './generation/sampling';
export { TextStreamer } from './generation/textStreamer';
export { emptyBlockCache, disposeCache } from './layers/cache';
export type { MambaBlockCache, MambaCache } from './layers/cache';
export { selectiveStep, finalScanState } from './ops/scan/selectiveStep';
export { convStep, convTail } from './ops/conv/convState';
export { hasStepKernels } from './ops/scan/fusedStep';
export type { StepImpl } from './ops/scan/fusedStep';
export { NanGuard } from './training/nanGuard';
export type { NanGuardTrip, NanGuardOptions } from './training/nanGuard';
export { clipGradientsByGlobalNorm, withClipNorm } from './training/clipNorm';
export { FlatAdam, flatAdam } from './training/flatAdam';
export { fusedResidualBlock, keptBytes, recomputesInBackward, setRecomputeInBackward } from './ops/block/fusedBlock';
export { installBindGroupCache, bindGroupCacheStats } from './ops/kernels/webgpu/bindGroupCache';
export type { BindGroupCacheStats } from './ops/kernels/webgpu/bindGroupCache';
export type { ClipNormState } from './training/clipNorm';
export { chunkedSelectiveScan, scanWithInitialState, DEFAULT_CHUNK_ELEMENTS } from './ops/scan/chunkedScan';

import { registerKernels } from './ops/kernels/register';

registerKernels();
export { loadCheckpointFromUrl, joinUrl } from './io/web/loadFromUrl';
export type { LoadFromUrlOptions } from './io/web/loadFromUrl';
export { fetchSafetensors, parseSafetensorsBytes } from './io/web/fetchFile';
export type { FetchedSafetensors } from './io/web/fetchFile';
export { clearFileCache } from './io/web/fileCache';
