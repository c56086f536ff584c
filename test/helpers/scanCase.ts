/**
 * Types of the selective-scan test cases (fusedSelectiveScan and fusedScanWasm tests).
 * Shapes: B batch, L length, ED inner channels, N state size.
 */

/** Sizes of one case. */
export interface ScanDims { B: number; L: number; ED: number; N: number }

/** One problem's float32 inputs, laid out as the fused scan takes them; a test adds its upstream gradient. */
export interface ScanInputs {
  dims: ScanDims;
  x: Float32Array; // (B, L, ED)
  delta: Float32Array; // (B, L, ED)
  A: Float32Array; // (ED, N)
  Bm: Float32Array; // (B, L, N)
  Cm: Float32Array; // (B, L, N)
  D: Float32Array; // (ED)
}
