/**
 * mamba-tfjs: Mamba (Gu & Dao, 2023) for TensorFlow.js.
 *
 * Importing this module registers the layers for (de)serialization, the fused scan kernels (and faster wasm
 * Slice and Identity kernels, see ops/wasmKernelFixes.ts), and a `file://`
 * save/load handler when none is registered (pure @tensorflow/tfjs has none).
 */
export { pscan, scanCore } from './ops/pscan';
export { scanSequential } from './ops/scanSequential';
export { selectiveScan, resolveScanMode } from './ops/selectiveScan';
export type { ScanMode, SelectiveScanOptions } from './ops/selectiveScan';
export { fusedSelectiveScan, hasFusedScanKernel } from './ops/fusedSelectiveScan';
export { RMSNorm } from './layers/rmsNorm';
export type { RMSNormArgs } from './layers/rmsNorm';
export { MambaBlock } from './layers/mambaBlock';
export type { MambaBlockArgs } from './layers/mambaBlock';
export { ResidualBlock } from './layers/residualBlock';
export { Mamba } from './layers/mamba';
export type { MambaArgs } from './layers/mamba';
export { MambaLM, paddedVocabSize } from './layers/mambaLM';
export type { MambaLMArgs } from './layers/mambaLM';
export type { MambaConfig } from './layers/config';
export { mambaLayer, rmsNorm, mambaBlock, residualBlock, mambaLMLayer, createMambaLM, findMambaLM } from './layers/factories';
export { lmLoss } from './losses';
export { selectBackend, defaultBackend, BACKENDS } from './backend';
export { registerWasmKernelFixes } from './ops/wasmKernelFixes';
export { quietCpuBanner } from './cpuBanner';
export type { BackendName } from './backend';
export { fileSystem, registerFileSystemHandler } from './io/fsHandler';
export { loadCheckpoint } from './io/checkpoint';
export { convertCheckpoint } from './io/convert';
export type { ConvertOptions, ConvertResult, ConvertDtype } from './io/convert';
export { exportHf } from './io/exportHf';
export type { ExportHfOptions, ExportHfResult } from './io/exportHf';
export { mambaLMTopology } from './io/topology';
export { mambaLMWeightShapes } from './io/weightPlan';
export { generate } from './generation/generate';
export type { GenerateOptions, GenerateResult } from './generation/generate';
export { argmax, sampleToken } from './generation/sampling';
export type { SamplingOptions } from './generation/sampling';
export { TextStreamer } from './generation/textStreamer';
export { emptyBlockCache, disposeCache } from './layers/cache';
export type { MambaBlockCache, MambaCache } from './layers/cache';
export { selectiveStep, finalScanState } from './ops/selectiveStep';
export { convStep, convTail } from './ops/convState';
export { hasStepKernels } from './ops/fusedStep';
export type { StepImpl } from './ops/fusedStep';
export { loadModel, loadTfjsModelStreaming, modelDirKind } from './io/loadModel';
export type { ModelDirKind } from './io/loadModel';
export { NanGuard } from './training/nanGuard';
export type { NanGuardTrip, NanGuardOptions } from './training/nanGuard';
export { clipGradientsByGlobalNorm, withClipNorm } from './training/clipNorm';
export { FlatAdam, flatAdam } from './training/flatAdam';
export { fusedResidualBlock, recomputesInBackward, setRecomputeInBackward } from './ops/fusedBlock';
export type { ClipNormState } from './training/clipNorm';
export { chunkedSelectiveScan, scanWithInitialState, DEFAULT_CHUNK_ELEMENTS } from './ops/chunkedScan';

import { registerFileSystemHandler } from './io/fsHandler';
registerFileSystemHandler();
