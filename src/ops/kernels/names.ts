/**
 * Every kernel name mamba-tfjs registers, once (as tfjs-core's kernel_names.ts does for tfjs).
 * The custom kernels are prefixed `Mamba`; the last group are tfjs kernels we register faster
 * versions of (see ./segmentSum.ts and ./wasmFixes.ts). ./register.ts registers them all.
 */

/** Fused selective scan {x, delta, A, B, C, D} → y (B, L, ED). */
export const FUSED_SCAN_KERNEL = 'MambaSelectiveScan';
/** Its backward {x, delta, A, B, C, D, dy} → [dx, ddelta, dA, dB, dC, dD]. */
export const FUSED_SCAN_GRAD_KERNEL = 'MambaSelectiveScanGrad';
/** The forward scan and its final states {x, delta, A, B, C, D} → [y (B, L, ED), h (B, ED, N)] (cpu, wasm; prefill, no gradient). */
export const FUSED_SCAN_STATE_KERNEL = 'MambaSelectiveScanState';
/** Fused Mamba-2 (SSD) scan {x, dt, A, B, C, D, h0} → [y (B, L, H, P), state (B, H, P, N)]. */
export const SSD_SCAN_KERNEL = 'MambaSsdScan';
/** Its backward {x, dt, A, B, C, D, h0, dy, dstate} → [dx, ddt, dA, dB, dC, dD, dh0]. */
export const SSD_SCAN_GRAD_KERNEL = 'MambaSsdScanGrad';
/** Depthwise causal conv {x, weight, bias} → y (B, L, ED). */
export const CONV_KERNEL = 'MambaCausalConv1d';
/** Its backward {x, weight, bias, dy} → [dx, dweight, dbias]. */
export const CONV_GRAD_KERNEL = 'MambaCausalConv1dGrad';
/** Numerically stable softplus {x} → y. */
export const SOFTPLUS_KERNEL = 'MambaSoftplus';
/** Gradient of silu {x, dy} → dy · σ(x)(1 + x(1 − σ(x))) (cpu, wasm: ./gates.ts; webgpu; elsewhere tf ops). */
export const SILU_GRAD_KERNEL = 'MambaSiluGrad';
/** silu {x} → x · σ(x) (cpu, wasm: ./gates.ts; webgpu; elsewhere tf ops). */
export const SILU_KERNEL = 'MambaSilu';
/** The gate {x, g} → g · x · σ(x) (cpu, wasm: ./gates.ts; webgpu; elsewhere tf ops). */
export const SILU_MUL_KERNEL = 'MambaSiluMul';
/** {x, g} → g · σ(x), softplus's gradient (cpu, wasm: ./gates.ts; webgpu; elsewhere tf ops). */
export const SIGMOID_MUL_KERNEL = 'MambaSigmoidMul';
/**
 * The gate's backward {z, y, dg} → [y · silu(z), dg · silu(z), dg · y · silu'(z)] (cpu, wasm: ./gates.ts; elsewhere
 * the three kernels above).
 */
export const GATE_GRAD_KERNEL = 'MambaGateGrad';
/** One Adam step over flat vectors {g, m, v, p} (S) → [m' | v' | p'] (3S) (webgpu only; FlatAdam's tf ops elsewhere). */
export const ADAM_STEP_KERNEL = 'MambaAdamStep';
/** RMS normalization over the last axis {x}, attr eps → x · (mean(x²) + eps)^−½ (webgpu, cpu, wasm: ./rmsNormalize.ts). */
export const RMS_NORMALIZE_KERNEL = 'MambaRmsNormalize';
/** Its gradient {x, dy}, attr eps → r · (dy − y · mean(dy · y)) (webgpu, cpu, wasm). */
export const RMS_NORMALIZE_GRAD_KERNEL = 'MambaRmsNormalizeGrad';
/** One recurrent scan step {h, x, delta, A, B, C, D} → [y (B, ED), h' (B, ED, N)]. */
export const SELECTIVE_STEP_KERNEL = 'MambaSelectiveStep';
/** One conv step {state, x, w, bias} → [y (B, ED), state' (B, K, ED)]. */
export const CONV_STEP_KERNEL = 'MambaConvStep';
/** −exp(x) elementwise {x} → y: A = −exp(A_log) for decoding steps (./stepWasm.ts; no gradient). */
export const NEG_EXP_KERNEL = 'MambaNegExp';
/** int8 weight product {x (M, I), q (O, RB/4) int32, scale (O), bias?} → y (M, O) (./int8.ts). */
export const INT8_MATMUL_KERNEL = 'MambaInt8MatMul';
/** Rows of an int8 embedding {ids (n), q (V, RB/4) int32, scale (V)}, attr cols → (n, D) (./int8.ts). */
export const INT8_GATHER_KERNEL = 'MambaInt8Gather';
/**
 * The recurrent part of a mixer's decoding step {xz, conv, convW, convB?, xProj, xProjScale?, dtProj, dtProjScale?,
 * dtBias, aLog, D, h} → [y (B, ED) gated, conv' (B, K−1, ED), h' (B, ED, N)] (wasm; ./mixerStep.ts).
 */
export const MIXER_STEP_KERNEL = 'MambaMixerStep';
/** RMS norm of a decoding step's rows {x (M, D), weight (D)}, attr eps → (M, D) (wasm; ./mixerStep.ts). */
export const RMS_NORM_STEP_KERNEL = 'MambaRmsNormStep';
/** A decoding step's float32 projection {x (M, I), w (I, O), bias? (O)} → (M, O) (wasm; ./mixerStep.ts). */
export const MATVEC_STEP_KERNEL = 'MambaMatVecStep';

/** tfjs's own UnsortedSegmentSum (tf.gather's gradient), replaced on cpu and wasm by an O(size) loop. */
export const SEGMENT_SUM_KERNEL = 'UnsortedSegmentSum';
/** tfjs-wasm kernels replaced by ./wasmFixes.ts. */
export const WASM_FIXED_KERNELS = ['Slice', 'Identity', 'Transpose', 'Sum', 'Concat'] as const;
