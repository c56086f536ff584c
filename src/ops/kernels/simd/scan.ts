/**
 * Fast fused selective scan: the functions of ../js/scanMath.ts run by the
 * WebAssembly SIMD module (source asm/scan.ts, embedded in ./scanWasmBinary.ts), with
 * the JS loops as fallback when the module cannot load, or when the
 * flag MAMBA_TFJS_SCAN_IMPL = 'js' asks for them.
 *
 * Shape glossary:
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   N  state size; NP = N rounded up to a multiple of 4 (the module's f32x4 width)
 *
 * Each call copies its inputs into the module's own linear memory (grown as
 * needed), runs there, and copies the results out: O(B L ED) copies next to
 * O(B L ED N) exps. Arrays with N not a multiple of 4 are padded row by row with
 * zeros (A = B = C = 0 keeps the pad lanes at 0 throughout).
 */
import { fusedScanBackward, fusedScanForward, FusedScanDims, FusedScanGrads } from '../js/scanMath';
import { loadScanWasm, ScanWasmExports } from './module';
import { Arena, ensureMemory, pad4, view } from './arena';
import { scanImpl } from '../../../flags';
import { simdThreadPool } from './pool';
import { backwardParallelScratch, parallelPool, scanBackwardParallel, scanForwardParallel } from './parallel';

/** Which implementation the fast functions run. */
export type ScanKernelImpl = 'wasm-simd' | 'js';

/** Environment variable that forces the JS loops when set to 'js'. */
/** True when the flag MAMBA_TFJS_SCAN_IMPL is 'js' (read on every call, so it can be toggled at run time). */
function jsForced(): boolean {
  return scanImpl() === 'js';
}

/** The module to run on (the thread pool's instance when there is a pool: ./pool.ts), or null for the JS path. */
export function activeScanModule(): ScanWasmExports | null {
  if (jsForced()) return null;
  return simdThreadPool()?.module ?? loadScanWasm();
}

/** 'wasm-simd' when the fast functions run the SIMD module, 'js' when they run ../js/scanMath.ts. */
export function scanKernelImpl(): ScanKernelImpl {
  return activeScanModule() != null ? 'wasm-simd' : 'js';
}

/** Copies `rows` rows of n floats from `src` into `dst` rows of np >= n floats, zero-padding. */
function copyIn(dst: Float32Array, src: Float32Array, rows: number, n: number, np: number): void {
  if (n === np) {
    dst.set(src);
    return;
  }
  dst.fill(0);
  for (let r = 0; r < rows; r++) for (let k = 0; k < n; k++) dst[r * np + k] = src[r * n + k];
}

/** Copies `rows` rows of the first n of np floats from `src` into dense `dst`. */
function copyOut(dst: Float32Array, src: Float32Array, rows: number, n: number, np: number): void {
  if (n === np) {
    dst.set(src);
    return;
  }
  for (let r = 0; r < rows; r++) for (let k = 0; k < n; k++) dst[r * n + k] = src[r * np + k];
}

/**
 * True when every size is a positive integer and every array has its expected
 * length. Anything else goes to the JS implementation, whose validation throws
 * the descriptive error (or which handles empty problems).
 */
function fitsFastPath(dims: FusedScanDims, arrays: [ArrayLike<number> | undefined, number][]): boolean {
  const { B, L, ED, N } = dims;
  if (![B, L, ED, N].every((v) => Number.isInteger(v) && v > 0)) return false;
  return arrays.every(([a, len]) => a === undefined || a.length === len);
}

/**
 * Forward fused selective scan, same contract as {@link fusedScanForward}.
 *
 * @param x     (B, L, ED)
 * @param delta (B, L, ED)
 * @param A     (ED, N)
 * @param Bm    (B, L, N)
 * @param Cm    (B, L, N)
 * @param D     (ED)
 * @param dims  sizes {B, L, ED, N}
 * @param out   optional (B, L, ED) output array; allocated when omitted
 * @param state optional (B, ED, N) output: each batch's state after its last step
 * @returns y   (B, L, ED)
 */
export function fusedScanForwardFast(
  x: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array, D: Float32Array,
  dims: FusedScanDims, out?: Float32Array, state?: Float32Array,
): Float32Array {
  const wasm = activeScanModule();
  const { B, L, ED, N } = dims;
  const nE = B * L * ED; // elements of (B, L, ED)
  const ok = fitsFastPath(dims, [[x, nE], [delta, nE], [A, ED * N], [Bm, B * L * N], [Cm, B * L * N], [D, ED], [out, nE], [state, B * ED * N]]);
  if (wasm == null || !ok) return fusedScanForward(x, delta, A, Bm, Cm, D, dims, out, state);
  const NP = pad4(N);
  const ar = new Arena(wasm.heapBase());
  const p = {
    x: ar.f32(nE), delta: ar.f32(nE), A: ar.f32(ED * NP), Bm: ar.f32(B * L * NP), Cm: ar.f32(B * L * NP),
    D: ar.f32(ED), y: ar.f32(nE), h: ar.f32((state ? B : 1) * ED * NP), // (ED, NP) scratch, or (B, ED, NP) states
  };
  const hStride = state ? ED * NP * 4 : 0; // bytes between batches' states
  if (!ensureMemory(wasm.memory, ar.end)) return fusedScanForward(x, delta, A, Bm, Cm, D, dims, out, state);
  const buf = wasm.memory.buffer;
  view(buf, p.x, nE).set(x);
  view(buf, p.delta, nE).set(delta);
  copyIn(view(buf, p.A, ED * NP), A, ED, N, NP); // (ED, NP)
  copyIn(view(buf, p.Bm, B * L * NP), Bm, B * L, N, NP); // (B, L, NP)
  copyIn(view(buf, p.Cm, B * L * NP), Cm, B * L, N, NP); // (B, L, NP)
  view(buf, p.D, ED).set(D);
  const pool = parallelPool(wasm, nE * NP);
  if (pool) scanForwardParallel(pool, p, B, L, ED, NP, hStride);
  else wasm.scanForward(p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.y, p.h, B, L, ED, NP, hStride);
  const y = out ?? new Float32Array(nE); // (B, L, ED)
  y.set(view(wasm.memory.buffer, p.y, nE));
  if (state) copyOut(state, view(wasm.memory.buffer, p.h, B * ED * NP), B * ED, N, NP); // (B, ED, N)
  return y;
}

/**
 * Backward fused selective scan, same contract as {@link fusedScanBackward}:
 * gradients of sum(y * dy) with respect to all six inputs.
 *
 * @param x     (B, L, ED)
 * @param delta (B, L, ED)
 * @param A     (ED, N)
 * @param Bm    (B, L, N)
 * @param Cm    (B, L, N)
 * @param D     (ED)
 * @param dy    (B, L, ED) upstream gradient
 * @param dims  sizes {B, L, ED, N}
 * @param out   optional output arrays; missing ones are allocated; all are fully overwritten
 */
export function fusedScanBackwardFast(
  x: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array, D: Float32Array,
  dy: Float32Array, dims: FusedScanDims, out: Partial<FusedScanGrads> = {},
): FusedScanGrads {
  const wasm = activeScanModule();
  const { B, L, ED, N } = dims;
  const nE = B * L * ED; // elements of (B, L, ED)
  const nN = B * L * N; // elements of (B, L, N)
  const ok = fitsFastPath(dims, [
    [x, nE], [delta, nE], [A, ED * N], [Bm, nN], [Cm, nN], [D, ED], [dy, nE],
    [out.dx, nE], [out.ddelta, nE], [out.dA, ED * N], [out.dB, nN], [out.dC, nN], [out.dD, ED],
  ]);
  if (wasm == null || !ok) return fusedScanBackward(x, delta, A, Bm, Cm, D, dy, dims, out);
  const NP = pad4(N);
  const nNP = B * L * NP; // elements of (B, L, NP)
  const ar = new Arena(wasm.heapBase());
  const p = {
    x: ar.f32(nE), delta: ar.f32(nE), A: ar.f32(ED * NP), Bm: ar.f32(nNP), Cm: ar.f32(nNP), D: ar.f32(ED), dy: ar.f32(nE),
    dx: ar.f32(nE), ddelta: ar.f32(nE), dA: ar.f32(ED * NP), dB: ar.f32(nNP), dC: ar.f32(nNP), dD: ar.f32(ED),
  };
  const pool = parallelPool(wasm, nE * NP);
  const split = pool && backwardParallelScratch(pool, ar, B, L, ED, NP);
  const scratch = split ? 0 : ar.bytes(wasm.backwardScratchBytes(B, L, ED, NP));
  if (!ensureMemory(wasm.memory, ar.end)) return fusedScanBackward(x, delta, A, Bm, Cm, D, dy, dims, out);
  const buf = wasm.memory.buffer;
  view(buf, p.x, nE).set(x);
  view(buf, p.delta, nE).set(delta);
  copyIn(view(buf, p.A, ED * NP), A, ED, N, NP); // (ED, NP)
  copyIn(view(buf, p.Bm, nNP), Bm, B * L, N, NP); // (B, L, NP)
  copyIn(view(buf, p.Cm, nNP), Cm, B * L, N, NP); // (B, L, NP)
  view(buf, p.D, ED).set(D);
  view(buf, p.dy, nE).set(dy);
  if (pool && split) scanBackwardParallel(pool, p, split, B, L, ED, NP);
  else wasm.scanBackward(p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.dy, p.dx, p.ddelta, p.dA, p.dB, p.dC, p.dD, scratch, B, L, ED, NP);
  const g: FusedScanGrads = {
    dx: out.dx ?? new Float32Array(nE), // (B, L, ED)
    ddelta: out.ddelta ?? new Float32Array(nE), // (B, L, ED)
    dA: out.dA ?? new Float32Array(ED * N), // (ED, N)
    dB: out.dB ?? new Float32Array(nN), // (B, L, N)
    dC: out.dC ?? new Float32Array(nN), // (B, L, N)
    dD: out.dD ?? new Float32Array(ED), // (ED)
  };
  g.dx.set(view(buf, p.dx, nE));
  g.ddelta.set(view(buf, p.ddelta, nE));
  copyOut(g.dA, view(buf, p.dA, ED * NP), ED, N, NP);
  copyOut(g.dB, view(buf, p.dB, nNP), B * L, N, NP);
  copyOut(g.dC, view(buf, p.dC, nNP), B * L, N, NP);
  g.dD.set(view(buf, p.dD, ED));
  return g;
}

/**
 * exp of each float32 in `xs` computed by the module's f32x4 exp (for tests);
 * null when the module is unavailable.
 */
export function simdExp(xs: Float32Array): Float32Array | null {
  const wasm = loadScanWasm();
  if (wasm == null) return null;
  const n4 = pad4(xs.length);
  const ar = new Arena(wasm.heapBase());
  const src = ar.f32(n4);
  const dst = ar.f32(n4);
  if (!ensureMemory(wasm.memory, ar.end)) throw new Error(`simdExp: cannot grow wasm memory to ${ar.end} bytes`);
  const buf = wasm.memory.buffer;
  const inp = view(buf, src, n4);
  inp.fill(0);
  inp.set(xs);
  wasm.expArray(src, dst, n4);
  return view(buf, dst, n4).slice(0, xs.length);
}
