/**
 * Compiles and instantiates the WebAssembly SIMD module (built from asm/scan.ts and embedded by
 * `npm run build:wasm` in ./scanWasmBinary.ts), once, synchronously: no file lookup, so it runs in bundles and
 * browsers as in Node.
 *
 * Shape glossary of the exports (all pointers are byte offsets into `memory`):
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   NP state size padded to a multiple of 4
 */
import { SCAN_WASM_BASE64 } from './scanWasmBinary';

/** The exports of scan.wasm (see asm/scan.ts for the meaning of each argument). */
export interface ScanWasmExports {
  /** The module's own linear memory; grown by the caller. */
  memory: WebAssembly.Memory;
  /** First byte after the module's static data. */
  heapBase(): number;
  /** exp of `count` (a multiple of 4) float32 values at `src` into `dst`. */
  expArray(src: number, dst: number, count: number): void;
  /**
   * Forward scan: pointers x, delta, A, Bm, Cm, D, y, h; then B, L, ED, NP and hStride: h is an (ED, NP) scratch with
   * hStride 0, or the (B, ED, NP) final states with hStride ED · NP · 4 bytes.
   */
  scanForward(
    x: number, delta: number, A: number, Bm: number, Cm: number, D: number, y: number, h: number,
    B: number, L: number, ED: number, NP: number, hStride: number,
  ): void;
  /** Bytes of scratch `scanBackward` needs for (B, L, ED, NP). */
  backwardScratchBytes(B: number, L: number, ED: number, NP: number): number;
  /** Backward scan: pointers of 7 inputs, 6 outputs and the scratch; then B, L, ED, NP. */
  scanBackward(
    x: number, delta: number, A: number, Bm: number, Cm: number, D: number, dy: number,
    dx: number, ddelta: number, dA: number, dB: number, dC: number, dD: number, scratch: number,
    B: number, L: number, ED: number, NP: number,
  ): void;
  /** Fused SSD forward (asm/ssd.ts): pointers x, dt, a (f64 decays), B, C, D, h0, y, state; then B, L, H, P, G, NP. */
  ssdForward(
    x: number, dt: number, a: number, Bm: number, Cm: number, D: number, h0: number, y: number, state: number,
    B: number, L: number, H: number, P: number, G: number, NP: number,
  ): void;
  /** Bytes of scratch `ssdBackward` needs for (L, H, G, NP). */
  ssdScratchBytes(L: number, H: number, G: number, NP: number): number;
  /** Fused SSD backward: pointers of 10 inputs, 7 outputs and the scratch; then B, L, H, P, G, NP. */
  ssdBackward(
    x: number, dt: number, a: number, A: number, Bm: number, Cm: number, D: number, h0: number, dy: number, dstate: number,
    dx: number, ddt: number, dA: number, dB: number, dC: number, dD: number, dh0: number, scratch: number,
    B: number, L: number, H: number, P: number, G: number, NP: number,
  ): void;
}

/** The module's bytes, decoded from the embedded base64 (atob: Node ≥ 16 and every browser). */
export function scanWasmBytes(): Uint8Array<ArrayBuffer> {
  const bin = atob(SCAN_WASM_BASE64);
  const bytes = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Cached load result: undefined = not tried yet; null = unavailable. */
let cached: ScanWasmExports | null | undefined;

/**
 * The instantiated module, or null when this runtime cannot compile it (no WebAssembly SIMD, or a page whose
 * content security policy forbids compiling WebAssembly). Never throws; tried once. The kernels then run the
 * JS loops of ../js/.
 */
export function loadScanWasm(): ScanWasmExports | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const module = new WebAssembly.Module(scanWasmBytes());
    const instance = new WebAssembly.Instance(module, {});
    cached = instance.exports as unknown as ScanWasmExports;
  } catch {
    // cached stays null: the JS loops run instead
  }
  return cached;
}
