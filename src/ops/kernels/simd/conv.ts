/**
 * Fast depthwise causal conv: convMath's functions run by the WebAssembly SIMD module (asm/conv.ts, part of
 * the module embedded in ./scanWasmBinary.ts), with the JS loops as fallback (module missing, MAMBA_TFJS_SCAN_IMPL=js, odd sizes).
 *
 * Shape glossary: B batch, L length, ED inner channels, K conv width.
 * Each call copies its inputs into the module's memory and the results out: O(B L ED) copies for O(B L ED K) work.
 */
import { ConvDims, convBackward, convForward } from '../js/convMath';
import { activeScanModule } from './scan';
import { Arena, ensureMemory, view } from './arena';
import { convBackwardParallel, convBackwardParallelScratch, convForwardParallel, parallelPool } from './parallel';

/** The module's conv exports (see asm/conv.ts). */
interface ConvWasmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  convForward(x: number, w: number, bias: number, y: number, B: number, L: number, ED: number, K: number): void;
  convScratchBytes(ED: number, K: number): number;
  convBackward(x: number, w: number, dy: number, dx: number, dw: number, dbias: number, scratch: number, B: number, L: number, ED: number, K: number): void;
}

function convModule(d: ConvDims): ConvWasmExports | null {
  const m = activeScanModule() as unknown as ConvWasmExports | null;
  const ok = [d.B, d.L, d.ED, d.K].every((v) => Number.isInteger(v) && v > 0);
  return m != null && ok && typeof m.convForward === 'function' ? m : null;
}

/**
 * Elements (B·L·ED) below which the conv stays on one thread: K multiply-adds an element are too little work for the
 * split to pay (2 idle Xeon cores, B 4, L 1024, ED 128 backward: 1.46 ms on one thread, 1.97 ms on two).
 */
const CONV_MIN_SPLIT = 1 << 21;

/** y (B, L, ED) = conv of x (B, L, ED) with w (K, ED) plus bias (ED); same contract as convMath.convForward. */
export function convForwardFast(x: Float32Array, w: Float32Array, bias: Float32Array, d: ConvDims, y: Float32Array): void {
  const m = convModule(d);
  const nE = d.B * d.L * d.ED; // elements of (B, L, ED)
  const ar = m && new Arena(m.heapBase());
  const p = ar && { x: ar.f32(nE), w: ar.f32(d.K * d.ED), bias: ar.f32(d.ED), y: ar.f32(nE) };
  if (!m || !ar || !p || !ensureMemory(m.memory, ar.end)) return convForward(x, w, bias, d, y);
  const buf = m.memory.buffer;
  view(buf, p.x, nE).set(x); // (B, L, ED)
  view(buf, p.w, d.K * d.ED).set(w); // (K, ED)
  view(buf, p.bias, d.ED).set(bias); // (ED)
  const pool = nE >= CONV_MIN_SPLIT ? parallelPool(m, nE) : null;
  if (pool) convForwardParallel(pool, p, d.B, d.L, d.ED, d.K);
  else m.convForward(p.x, p.w, p.bias, p.y, d.B, d.L, d.ED, d.K);
  y.set(view(buf, p.y, nE)); // (B, L, ED)
}

/** Gradients of sum(y · dy); same contract as convMath.convBackward. */
export function convBackwardFast(
  x: Float32Array, w: Float32Array, dy: Float32Array, d: ConvDims, dx: Float32Array, dw: Float32Array, dbias: Float32Array,
): void {
  const m = convModule(d);
  const nE = d.B * d.L * d.ED; // elements of (B, L, ED)
  const ar = m && new Arena(m.heapBase());
  const p = ar && m && {
    x: ar.f32(nE), w: ar.f32(d.K * d.ED), dy: ar.f32(nE), dx: ar.f32(nE), dw: ar.f32(d.K * d.ED), dbias: ar.f32(d.ED),
  };
  const pool = nE >= CONV_MIN_SPLIT ? parallelPool(m, nE) : null;
  const split = pool && ar && convBackwardParallelScratch(pool, ar, d.ED, d.K);
  const scratch = !split && ar && m ? ar.bytes(m.convScratchBytes(d.ED, d.K)) : 0;
  if (!m || !ar || !p || !ensureMemory(m.memory, ar.end)) return convBackward(x, w, dy, d, dx, dw, dbias);
  const buf = m.memory.buffer;
  view(buf, p.x, nE).set(x); // (B, L, ED)
  view(buf, p.w, d.K * d.ED).set(w); // (K, ED)
  view(buf, p.dy, nE).set(dy); // (B, L, ED)
  if (pool && split) convBackwardParallel(pool, p, split, d.B, d.L, d.ED, d.K);
  else m.convBackward(p.x, p.w, p.dy, p.dx, p.dw, p.dbias, scratch, d.B, d.L, d.ED, d.K);
  dx.set(view(buf, p.dx, nE)); // (B, L, ED)
  dw.set(view(buf, p.dw, d.K * d.ED)); // (K, ED)
  dbias.set(view(buf, p.dbias, d.ED)); // (ED)
}
