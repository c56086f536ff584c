/**
 * The WGSL kernel cases of kernels.test.ts: seeded random inputs (float32 values, so the float64 reference
 * sees exactly what the GPU sees) at small sizes, lengths off powers of two, channels off the workgroup width.
 */
import { logUniform, rng, uniformArray } from '../helpers/random';
import type { AdamCase, ConvCase, ConvDims, GateCase, RmsCase, ScanCase, ScanDims, SiluCase, TuningCase } from './pages/protocol';

/** Scan shapes [B, L, ED, N]: L = 1, 37, 100 (not powers of two), ED off 64, N = 1, 16, 33. */
export const SCAN_SHAPES: [number, number, number, number][] = [[2, 1, 24, 16], [2, 37, 24, 16], [1, 100, 70, 16], [1, 33, 20, 1], [2, 40, 20, 33]];
/** Both webgpu scan modes on every shape; chunk 7 (many partial chunks) and the unrolled loops on one. */
export const SCAN_TUNINGS: TuningCase[] = [{ mode: 'chunked', chunk: 32, unroll: false }, { mode: 'sequential', chunk: 16, unroll: false }];
export const EXTRA_TUNINGS: TuningCase[] = [{ mode: 'chunked', chunk: 7, unroll: true }, { mode: 'sequential', chunk: 5, unroll: true }];
export const EXTRA_SHAPE: [number, number, number, number] = [1, 100, 70, 16];
/** Conv shapes [B, L, ED, K]: L < K, B·L > 256 (several weight-gradient row blocks), K = 4 and 3. */
export const CONV_SHAPES: [number, number, number, number][] = [[3, 2, 7, 4], [2, 37, 24, 4], [2, 300, 10, 3]];
/** RMS-normalization shapes [rows…, D] and eps: D odd, small and large; values far from 1 in scale. */
export const RMS_SHAPES: [number[], number][] = [[[2, 37, 24], 1e-5], [[5, 3], 1e-5], [[3, 300], 1e-3], [[4, 1000], 0]];
/** SiLU-gradient shapes. */
export const SILU_SHAPES: number[][] = [[2, 37, 24], [1000]];

const f32 = (a: Float32Array): number[] => Array.from(a);

function tuningName(t: TuningCase): string {
  return `${t.mode} T${t.chunk}${t.unroll ? ' unrolled' : ''}`;
}

/** A Mamba-like scan case: Δ log-uniform in [1e-3, 0.1] (one in ten in [0.1, 1]), A = −(1..N)·[0.9, 1.1). */
export function scanCase([B, L, ED, N]: [number, number, number, number], tuning: TuningCase, seed: number): ScanCase {
  const r = rng(seed);
  const uni = (n: number) => f32(uniformArray(r, n, -1, 1));
  const dims: ScanDims = { B, L, ED, N };
  return {
    kind: 'scan', name: `scan B${B} L${L} ED${ED} N${N} ${tuningName(tuning)}`, dims, tuning,
    x: uni(B * L * ED),
    delta: f32(Float32Array.from({ length: B * L * ED }, () => (r() < 0.1 ? 0.1 + 0.9 * r() : logUniform(r, 1e-3, 0.1)))),
    A: f32(Float32Array.from({ length: ED * N }, (_, k) => -((k % N) + 1) * (0.9 + 0.2 * r()))),
    Bm: uni(B * L * N), Cm: uni(B * L * N), D: uni(ED), w: uni(B * L * ED),
  };
}

export function convCase([B, L, ED, K]: [number, number, number, number], seed: number): ConvCase {
  const r = rng(seed);
  const uni = (n: number) => f32(uniformArray(r, n, -1, 1));
  const dims: ConvDims = { B, L, ED, K };
  return { kind: 'conv', name: `conv B${B} L${L} ED${ED} K${K}`, dims, x: uni(B * L * ED), weight: uni(K * ED), bias: uni(ED), dy: uni(B * L * ED) };
}

export function siluCase(shape: number[], seed: number): SiluCase {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'silu', name: `silu grad [${shape}]`, shape, x: f32(uniformArray(r, n, -8, 8)), dy: f32(uniformArray(r, n, -1, 1)) };
}

/** Every case, seeds fixed. */
export function rmsCase([shape, eps]: [number[], number], seed: number): RmsCase {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const scale = 10 ** (4 * r() - 2); // rows of size 0.01 … 100
  return { kind: 'rms', name: `rms norm [${shape}] eps ${eps}`, shape, eps, x: f32(uniformArray(r, n, -scale, scale)), dy: f32(uniformArray(r, n, -1, 1)) };
}

export function gateCase(op: GateCase['op'], shape: number[], seed: number): GateCase {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'gate', name: `gate ${op} [${shape}]`, op, shape, x: f32(uniformArray(r, n, -12, 12)), g: f32(uniformArray(r, n, -1, 1)) };
}

/** An Adam step at iteration t (bias corrections 1 − b^t) on S parameters, with v ≥ 0 as Adam keeps it. */
export function adamCase(size: number, [lr, b1, b2, eps]: number[], t: number, seed: number): AdamCase {
  const r = rng(seed);
  const f = Math.fround;
  const attrs = { b1, b2, oneMinusB1: 1 - b1, oneMinusB2: 1 - b2, oneMinusAcc1: f(1 - f(b1 ** t)), oneMinusAcc2: f(1 - f(b2 ** t)), eps, negLr: -lr };
  return {
    kind: 'adam', name: `adam S${size} lr ${lr} t ${t}`, attrs,
    g: f32(uniformArray(r, size, -1, 1)), m: f32(uniformArray(r, size, -0.1, 0.1)), v: f32(uniformArray(r, size, 0, 0.01)), p: f32(uniformArray(r, size, -1, 1)),
  };
}

export function allCases(): (ScanCase | ConvCase | SiluCase | RmsCase | GateCase | AdamCase)[] {
  let seed = 1000;
  const cases: (ScanCase | ConvCase | SiluCase | RmsCase | GateCase | AdamCase)[] = [];
  for (const s of SCAN_SHAPES) for (const t of SCAN_TUNINGS) cases.push(scanCase(s, t, seed++));
  for (const t of EXTRA_TUNINGS) cases.push(scanCase(EXTRA_SHAPE, t, seed++));
  for (const s of CONV_SHAPES) cases.push(convCase(s, seed++));
  for (const s of SILU_SHAPES) cases.push(siluCase(s, seed++));
  for (const s of RMS_SHAPES) cases.push(rmsCase(s, seed++));
  for (const op of ['silu', 'siluMul', 'sigmoidMul'] as const) for (const s of SILU_SHAPES) cases.push(gateCase(op, s, seed++));
  cases.push(adamCase(1000, [1e-3, 0.9, 0.999, 1e-7], 1, seed++), adamCase(5, [0.05, 0.8, 0.95, 1e-4], 17, seed++));
  return cases;
}
