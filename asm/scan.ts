/**
 * Fused selective scan (Mamba S6) in WebAssembly SIMD, AssemblyScript source: root of the single-threaded module.
 * Compiled by `npm run build:wasm` (scripts/embed-wasm.js, embedded in src/ops/kernels/simd/scanWasmBinary.ts) and driven by
 * src/ops/kernels/simd/scan.ts, which lays the arrays out in this module's memory. The scan kernels are the
 * channel-range ones of asm/scanRange.ts (read its header for shapes and precision), run here over all channels.
 *
 * Shape glossary: B batch, L length, ED inner channels, NP state size padded to a multiple of 4.
 * All pointers are byte offsets into this module's memory, 16-byte aligned.
 */
import { expf4 } from './expf4';
import { rangeScratchBytes, scanBackwardRange, scanForwardRange } from './scanRange';
import { demoteF64 } from './vec';
export { convForward, convBackward, convScratchBytes } from './conv';
export { softplusArray } from './softplus';
export { fillGateTable, siluArray, siluMulArray, sigmoidMulArray, siluGradArray, gateGradArray } from './gates';
export { ssdForward, ssdBackward, ssdScratchBytes } from './ssd';

/** First free byte after the module's static data: the caller's arrays start here (aligned up). */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * exp over `count` float32 values (count a multiple of 4), for testing expf4.
 * @param src (count) arguments
 * @param dst (count) results
 */
export function expArray(src: usize, dst: usize, count: i32): void {
  const bytes = <usize>count << 2;
  for (let k: usize = 0; k < bytes; k += 16) v128.store(dst + k, expf4(v128.load(src + k)));
}

/**
 * Forward scan over all channels: scanForwardRange (asm/scanRange.ts, which documents the loops) over [0, ED).
 *
 * @param x     (B, L, ED)
 * @param delta (B, L, ED)
 * @param A     (ED, NP)
 * @param Bm    (B, L, NP)
 * @param Cm    (B, L, NP)
 * @param D     (ED)
 * @param y     (B, L, ED) output
 * @param h     (ED, NP) scratch (hStride 0), or (B, ED, NP) output of the final states (hStride ED · NP · 4)
 */
export function scanForward(
  x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, y: usize, h: usize,
  nB: i32, L: i32, ED: i32, NP: i32, hStride: i32,
): void {
  scanForwardRange(x, delta, A, Bm, Cm, D, y, h, nB, L, ED, NP, 0, ED, hStride);
}

/** Bytes of the float64 dB, dC sums (B, L, NP) and dA (ED, NP), dD (ED) accumulators of {@link scanBackward}. */
function sumBytes(nB: i32, L: i32, ED: i32, NP: i32): usize {
  return (<usize>nB * <usize>L * <usize>NP << 4) + (<usize>ED * <usize>NP << 3) + (<usize>ED << 3);
}

/** Bytes of backward scratch for sizes (B, L, ED, NP): see {@link scanBackward}. */
export function backwardScratchBytes(nB: i32, L: i32, ED: i32, NP: i32): usize {
  return rangeScratchBytes(L, NP) + 16 + sumBytes(nB, L, ED, NP); // (+ alignment slack)
}

/**
 * Backward scan over all channels, all six gradients of sum(y * dy): scanBackwardRange (asm/scanRange.ts, which
 * documents the loops) over [0, ED), whose one set of float64 dB, dC partials is then rounded to float32.
 *
 * @param x       (B, L, ED)
 * @param delta   (B, L, ED)
 * @param A       (ED, NP)
 * @param Bm      (B, L, NP)
 * @param Cm      (B, L, NP)
 * @param D       (ED)
 * @param dy      (B, L, ED)
 * @param dx      (B, L, ED) output
 * @param ddelta  (B, L, ED) output
 * @param dA      (ED, NP) output
 * @param dB      (B, L, NP) output
 * @param dC      (B, L, NP) output
 * @param dD      (ED) output
 * @param scratch backwardScratchBytes(B, L, ED, NP) bytes
 */
export function scanBackward(
  x: usize, delta: usize, A: usize, Bm: usize, Cm: usize, D: usize, dy: usize,
  dx: usize, ddelta: usize, dA: usize, dB: usize, dC: usize, dD: usize, scratch: usize,
  nB: i32, L: i32, ED: i32, NP: i32,
): void {
  const nN = nB * L * NP; // elements of (B, L, NP)
  const dB64 = (scratch + rangeScratchBytes(L, NP) + 15) & ~<usize>15; // (B, L, NP) f64
  const dC64 = dB64 + (<usize>nN << 3); // (B, L, NP) f64
  const dA64 = dC64 + (<usize>nN << 3); // (ED, NP) f64
  const dD64 = dA64 + (<usize>ED * <usize>NP << 3); // (ED) f64
  scanBackwardRange(x, delta, A, Bm, Cm, D, dy, dx, ddelta, dA, dD, dB64, dC64, dA64, dD64, scratch, nB, L, ED, NP, 0, ED);
  demoteF64(dB, dB64, nN);
  demoteF64(dC, dC64, nN);
}
