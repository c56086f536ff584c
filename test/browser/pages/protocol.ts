/**
 * What the jest side and the kernels page exchange (plain JSON: typed arrays travel as number[]).
 */

/** Scan sizes: batch, length, inner channels, state size. */
export interface ScanDims { B: number; L: number; ED: number; N: number }
/** Conv sizes: batch, length, inner channels, conv width. */
export interface ConvDims { B: number; L: number; ED: number; K: number }
/** The webgpu scan tuning a case runs under (the MAMBA_TFJS_WEBGPU_SCAN_* flags of src/flags.ts). */
export interface TuningCase { mode: 'chunked' | 'sequential'; chunk: number; unroll: boolean }

/** Fused selective scan: y and the six gradients of sum(y * w). */
export interface ScanCase {
  kind: 'scan';
  name: string;
  dims: ScanDims;
  tuning: TuningCase;
  x: number[]; // (B, L, ED)
  delta: number[]; // (B, L, ED)
  A: number[]; // (ED, N)
  Bm: number[]; // (B, L, N)
  Cm: number[]; // (B, L, N)
  D: number[]; // (ED)
  w: number[]; // (B, L, ED) upstream gradient
}

/** Causal depthwise conv: y, and dx, dweight, dbias for upstream dy. */
export interface ConvCase {
  kind: 'conv';
  name: string;
  dims: ConvDims;
  x: number[]; // (B, L, ED)
  weight: number[]; // (K, ED)
  bias: number[]; // (ED)
  dy: number[]; // (B, L, ED)
}

/** SiLU gradient: dx = dy · silu'(x). */
export interface SiluCase {
  kind: 'silu';
  name: string;
  shape: number[];
  x: number[];
  dy: number[];
}

/** RMS normalization over the last axis and its gradient: y = x·r, dx = r·(dy − y·mean(dy·y)), r = (mean(x²) + eps)^−½. */
export interface RmsCase {
  kind: 'rms';
  name: string;
  shape: number[];
  eps: number;
  x: number[];
  dy: number[];
}

/** The gates: silu y = x·σ(x), siluMul y = g·x·σ(x), sigmoidMul y = g·σ(x). */
export interface GateCase {
  kind: 'gate';
  name: string;
  op: 'silu' | 'siluMul' | 'sigmoidMul';
  shape: number[];
  x: number[];
  g: number[];
}

/** FlatAdam's step over flat vectors: outputs m', v', p' (the kernel's (3S) output in thirds). */
export interface AdamCase {
  kind: 'adam';
  name: string;
  attrs: Record<string, number>;
  g: number[];
  m: number[];
  v: number[];
  p: number[];
}

export type KernelCase = ScanCase | ConvCase | SiluCase | RmsCase | GateCase | AdamCase;

/** A case's outputs by name (scan: y dx ddelta dA dB dC dD; conv: y dx dweight dbias; silu: dx; rms: y dx; gate: y; adam: m v p). */
export interface KernelResult {
  name: string;
  backend: string;
  outputs: Record<string, number[]>;
  /** Tensors alive after the case minus before (0 = no leak). */
  leaked: number;
  ms: number;
}

/** What the page reports about WebGPU before any case runs. */
export interface AdapterReport {
  hasNavigatorGpu: boolean;
  adapter: { vendor: string; architecture: string; description: string } | null;
  backend: string;
  error?: string;
}
