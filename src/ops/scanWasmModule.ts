/**
 * Locates, compiles and instantiates the WebAssembly SIMD scan module
 * (dist/ops/scan.wasm, built from asm/scan.ts by `npm run build`), once, synchronously.
 *
 * Shape glossary of the exports (all pointers are byte offsets into `memory`):
 *   B  batch
 *   L  sequence length
 *   ED inner channels
 *   NP state size padded to a multiple of 4
 */
import * as fs from 'fs';
import * as path from 'path';

/** The exports of scan.wasm (see asm/scan.ts for the meaning of each argument). */
export interface ScanWasmExports {
  /** The module's own linear memory; grown by the caller. */
  memory: WebAssembly.Memory;
  /** First byte after the module's static data. */
  heapBase(): number;
  /** exp of `count` (a multiple of 4) float32 values at `src` into `dst`. */
  expArray(src: number, dst: number, count: number): void;
  /** Forward scan: pointers x, delta, A, Bm, Cm, D, y, h scratch (ED, NP); then B, L, ED, NP. */
  scanForward(
    x: number, delta: number, A: number, Bm: number, Cm: number, D: number, y: number, h: number,
    B: number, L: number, ED: number, NP: number,
  ): void;
  /** Bytes of scratch `scanBackward` needs for (L, ED, NP). */
  backwardScratchBytes(L: number, ED: number, NP: number): number;
  /** Backward scan: pointers of 7 inputs, 6 outputs and the scratch; then B, L, ED, NP. */
  scanBackward(
    x: number, delta: number, A: number, Bm: number, Cm: number, D: number, dy: number,
    dx: number, ddelta: number, dA: number, dB: number, dC: number, dD: number, scratch: number,
    B: number, L: number, ED: number, NP: number,
  ): void;
}

/** File name of the compiled module. */
export const SCAN_WASM_FILE = 'scan.wasm';

/**
 * Where scan.wasm may be: next to this file once compiled (dist/ops/), or, when
 * this file runs from src/ops (ts-jest), in dist/ops of the package root.
 */
export function scanWasmCandidates(): string[] {
  return [path.join(__dirname, SCAN_WASM_FILE), path.join(__dirname, '..', '..', 'dist', 'ops', SCAN_WASM_FILE)];
}

/** The first existing candidate path, or null when scan.wasm has not been built. */
export function findScanWasm(): string | null {
  return scanWasmCandidates().find((p) => fs.existsSync(p)) ?? null;
}

/** Cached load result: undefined = not tried yet; null = unavailable. */
let cached: ScanWasmExports | null | undefined;
/** Why the last load failed (for diagnostics), or null. */
let loadError: string | null = null;

/**
 * The instantiated module, or null when scan.wasm is missing or this runtime
 * cannot compile it (e.g. no WebAssembly SIMD). Never throws; tried once.
 */
export function loadScanWasm(): ScanWasmExports | null {
  if (cached !== undefined) return cached;
  cached = null;
  const file = findScanWasm();
  if (file == null) {
    loadError = `${SCAN_WASM_FILE} not found (looked in ${scanWasmCandidates().join(', ')}); run \`npm run build\``;
    return cached;
  }
  try {
    const module = new WebAssembly.Module(fs.readFileSync(file));
    const instance = new WebAssembly.Instance(module, {});
    cached = instance.exports as unknown as ScanWasmExports;
  } catch (err) {
    loadError = `${file} failed to load: ${(err as Error).message}`;
  }
  return cached;
}

/** Why {@link loadScanWasm} returned null, or null if it has not failed. */
export function scanWasmLoadError(): string | null {
  return loadError;
}
