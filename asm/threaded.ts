/**
 * Root of the threaded build of the SIMD module (scripts/embed-wasm.js, embedded in
 * src/ops/kernels/simd/threadedWasmBinary.ts): everything asm/scan.ts exports, plus the channel-range kernels that
 * the threads of the Node worker pool (src/node/simdPool.ts) run over one shared, imported memory.
 */
export * from './scan';
export { scanForwardRange, scanBackwardRange, rangeScratchBytes, reducePartials } from './scanRange';
export { convForwardRange, convBackwardRange, convRangeScratchBytes } from './conv';
