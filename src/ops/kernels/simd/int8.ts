/**
 * The int8 SIMD module (asm/int8.ts, embedded in ./int8WasmBinary.ts) instantiated over a given memory — the
 * wasm backend's own heap, so that the int8 weights are read where tfjs keeps them, with no copy per call.
 * The module has no data segments: instantiating it writes nothing into that memory. tfjs-backend-wasm's threaded
 * build (MAMBA_TFJS_WASM_THREADS) has a shared heap, which only a module built for shared memory may import: that
 * one is ./int8SharedWasmBinary.ts, the same source.
 *
 * Shape glossary: M activation rows, I inputs, O outputs, RB bytes per weight row (see asm/int8.ts).
 */
import { INT8_WASM_BASE64 } from './int8WasmBinary';
import { INT8_SHARED_WASM_BASE64 } from './int8SharedWasmBinary';
import { scanImpl } from '../../../flags';

/** The exports of int8.wasm (pointers are byte offsets into the imported memory). */
export interface Int8WasmExports {
  /** Rounds rows of x (M, I) float32 to int16 x16 (M, I) with row scales sx (M). */
  int8QuantizeRows(x: number, x16: number, sx: number, M: number, I: number): void;
  /** y (M, O) = x · dequant(q)ᵀ [+ bias] from x16 and sx; bias 0 for none. */
  int8MatMul(x16: number, sx: number, q: number, scale: number, bias: number, y: number, M: number, I: number, O: number, RB: number): void;
  /** One selective-scan step (asm/step.ts); tbl: 192 bytes of scratch; N a multiple of 4. */
  selectiveStepSimd(
    h: number, x: number, delta: number, A: number, Bm: number, Cm: number, D: number, y: number, hOut: number, tbl: number,
    B: number, ED: number, N: number,
  ): void;
  /** dst = −exp(src) over `count` float32 (asm/step.ts); tbl: 192 bytes of scratch. */
  negExpArray(src: number, dst: number, count: number, tbl: number): void;
  /** Conv step + silu of a mixer's decoding step (asm/mixerStep.ts); bias 0 for none. */
  mixerConvSilu(xz: number, state: number, w: number, bias: number, xc: number, stateOut: number, tbl: number, B: number, ED: number, K: number): void;
  /** y (M, O) = x · W [+ bias], W (I, O) float32, rows of x xStride floats apart (asm/mixerStep.ts). */
  mixerProjectF32(x: number, xStride: number, w: number, bias: number, y: number, M: number, I: number, O: number): void;
  /** mixerProjectF32 over O columns of wider matrices: rows of w wStride floats apart, rows of y yStride apart. */
  mixerProjectF32Strided(x: number, xStride: number, w: number, wStride: number, bias: number, y: number, yStride: number, M: number, I: number, O: number): void;
  /** softplus, the scan step and the silu(z) gate of a mixer's decoding step (asm/mixerStep.ts). */
  mixerScanGate(
    h: number, xc: number, dtRaw: number, aLog: number, dbc: number, D: number, xz: number, y: number, hOut: number, tbl: number,
    B: number, ED: number, N: number, R: number,
  ): void;
  /** y (M, D) = RMS norm of the rows of x (M, D) times w (D) (asm/mixerStep.ts). */
  rmsNormRows(x: number, w: number, y: number, M: number, D: number, eps: number): void;
  /** y (C, R) = xᵀ for the rows [r0, r1) of x (R, C) (asm/layout.ts). */
  transposeRows(x: number, y: number, R: number, C: number, r0: number, r1: number): void;
  /** y[c] = Σ_r x[r, c] in float64 for the columns [c0, c1) of x (R, C); acc: (c1 − c0) float64 scratch (asm/layout.ts). */
  sumColumns(x: number, y: number, acc: number, R: number, C: number, c0: number, c1: number): void;
  /** Fills the gates' constants table (asm/gates.ts, GATE_TABLE_BYTES at tbl). */
  fillGateTable(tbl: number): void;
  /** The gates of asm/gates.ts: fn(...arrays, count, tbl) over `count` floats of each array. */
  siluArray(...args: number[]): void;
  siluMulArray(...args: number[]): void;
  sigmoidMulArray(...args: number[]): void;
  siluGradArray(...args: number[]): void;
  gateGradArray(...args: number[]): void;
  /** softplus over `count` floats in place in the heap (asm/mixerStep.ts): (src, dst, count, tbl), tbl filled by fillGateTable (or fillTable). */
  softplusHeapArray(...args: number[]): void;
  /** RMS normalization of rows [m0, m1): (x, y, D, epsBits, m0, m1) (asm/rmsNorm.ts). */
  rmsNormalizeRows(...args: number[]): void;
  /** Its gradient for rows [m0, m1): (x, dy, dx, D, epsBits, m0, m1). */
  rmsNormalizeGradRows(...args: number[]): void;
  /** Streams `bytes` (a multiple of 64) from p; returns a checksum (the bandwidth probe). */
  int8StreamRead(p: number, bytes: number): number;
}

const compiled: Record<'plain' | 'shared', WebAssembly.Module | null | undefined> = { plain: undefined, shared: undefined };
const instances = new WeakMap<WebAssembly.Memory, Int8WasmExports>();

/** Whether `memory` is shared (a SharedArrayBuffer heap). */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/** The compiled module of that kind, or null where WebAssembly SIMD (or compiling WebAssembly) is unavailable. Tried once. */
export function int8Module(kind: 'plain' | 'shared'): WebAssembly.Module | null {
  const have = compiled[kind];
  if (have !== undefined) return have;
  compiled[kind] = null;
  try {
    const bin = atob(kind === 'shared' ? INT8_SHARED_WASM_BASE64 : INT8_WASM_BASE64);
    const bytes = new Uint8Array(new ArrayBuffer(bin.length));
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    compiled[kind] = new WebAssembly.Module(bytes);
  } catch {
    // stays null: the JS loops run instead
  }
  return compiled[kind] ?? null;
}

/**
 * The module's exports over `memory` (one instance per memory), or null when the module is unavailable or the
 * flag MAMBA_TFJS_SCAN_IMPL is 'js'.
 */
export function int8Wasm(memory: WebAssembly.Memory): Int8WasmExports | null {
  if (scanImpl() === 'js') return null;
  const have = instances.get(memory);
  if (have) return have;
  const m = int8Module(isSharedMemory(memory) ? 'shared' : 'plain');
  if (!m) return null;
  try {
    const e = new WebAssembly.Instance(m, { env: { memory } }).exports as unknown as Int8WasmExports;
    instances.set(memory, e);
    return e;
  } catch {
    return null;
  }
}

/**
 * The heap of a tfjs-backend-wasm instance: `wasm.asm.memory` in its default build, `wasm.wasmMemory` in the threaded
 * one (MAMBA_TFJS_WASM_THREADS); undefined for any other backend.
 */
export function wasmHeapMemory(backend: unknown): WebAssembly.Memory | undefined {
  const wasm = (backend as { wasm?: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory } } | null)?.wasm;
  return wasm?.asm?.memory ?? wasm?.wasmMemory;
}

/**
 * The in-heap module over a tfjs-backend-wasm instance's heap, with that heap (the heap pool's memory), or null: not
 * wasm, no WebAssembly SIMD, or MAMBA_TFJS_SCAN_IMPL=js.
 */
export function wasmHeapModule(backend: unknown): { mod: Int8WasmExports; memory: WebAssembly.Memory } | null {
  const memory = wasmHeapMemory(backend);
  const mod = memory ? int8Wasm(memory) : null;
  return memory && mod ? { mod, memory } : null;
}
