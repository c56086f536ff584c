/**
 * Every behaviour switch of mamba-tfjs, as a tfjs flag (after tfjs-backend-webgpu's flags_webgpu.ts).
 *
 * Each flag's default is the environment variable of the same name where there is a `process` (Node), else the
 * value below; in a browser, tfjs also reads `?tfjsflags=NAME:value` from the page URL. Read a flag with
 * `tf.env().get(NAME)` (or the getters here), set it with `tf.env().set(NAME, value)`.
 *
 * | flag | values | default | effect |
 * | --- | --- | --- | --- |
 * | MAMBA_TFJS_BACKEND | cpu, wasm, webgpu, webgl, tensorflow, '' | '' | selectBackend()'s choice when given no name ('' = wasm when installed, else cpu) |
 * | MAMBA_TFJS_FUSED_BLOCK | true, false | true | a residual block runs as one op with a hand-written backward where the scan runs fused |
 * | MAMBA_TFJS_RECOMPUTE | auto, true, false (strings or booleans) | auto | the fused block recomputes its intermediates in the backward pass (auto: on webgpu, for a layer whose kept intermediates would pass MAMBA_TFJS_RECOMPUTE_ABOVE_MIB) |
 * | MAMBA_TFJS_RECOMPUTE_ABOVE_MIB | 0, 1, 2, … | 256 | 'auto' recomputation's threshold: a layer's kept intermediates, in MiB |
 * | MAMBA_TFJS_SCAN_IMPL | simd, js | simd | cpu/wasm kernels run the WebAssembly SIMD module, or the JS loops |
 * | MAMBA_TFJS_SSD_MODE | auto, fused, chunked, sequential | auto | what a Mamba-2 scan in mode 'auto' runs (auto: fused where the backend has the kernel, else chunked) |
 * | MAMBA_TFJS_WEBGPU_SCAN_MODE | chunked, sequential | chunked | the WGSL scan's algorithm |
 * | MAMBA_TFJS_WEBGPU_SCAN_CHUNK | 1 … 64 | 32 | chunk length T of the chunked WGSL scan |
 * | MAMBA_TFJS_WEBGPU_SCAN_UNROLL | true, false | false | unroll the WGSL state loops |
 * | MAMBA_TFJS_WEBGPU_FUSED_DECODE | true, false | true | on webgpu, generate() decodes MambaLM through the fused WGSL decoder |
 * | MAMBA_TFJS_WEBGPU_BIND_GROUPS | 0, 1, 2, … | 4096 | bind groups tfjs-webgpu's dispatches reuse (0: none, a fresh one per dispatch as tfjs does) |
 * | MAMBA_TFJS_THREADS | 0, 1, 2, … | 0 | Node: threads of the SIMD scan / conv / softplus kernels (0: one per core; 1: single-threaded; browsers: 1) |
 * | MAMBA_TFJS_WASM_THREADS | auto, 0, 1, 2, … | auto | Node: threads of tfjs's wasm backend, read when the backend starts (its threaded build where more than 1; auto: one per core the rest of the machine leaves free, measured then; 0: one per core); its shared heap lets the decoding step's products split over MAMBA_TFJS_THREADS threads |
 */
import * as tf from '@tensorflow/tfjs-core';

/** The environment variable `name`, or undefined (no `process`, as in a browser, or unset). */
function envVar(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A boolean from '1' / 'true' / '0' / 'false', else `fallback`. */
function envBool(name: string, fallback: boolean): boolean {
  const v = envVar(name)?.toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return fallback;
}

/** One of `allowed` (case-insensitive), else `fallback`. */
function envChoice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = envVar(name)?.toLowerCase();
  return (allowed as readonly string[]).includes(v ?? '') ? (v as T) : fallback;
}

/** Flag: selectBackend()'s choice when given no name ('' = wasm when available, else cpu). */
export const BACKEND_FLAG = 'MAMBA_TFJS_BACKEND';
/** Flag: run a residual block as one op with a hand-written backward where the scan runs fused (default true). */
export const FUSED_BLOCK_FLAG = 'MAMBA_TFJS_FUSED_BLOCK';
/** Flag: the fused block recomputes its intermediates in the backward pass ('auto': on webgpu only). */
export const RECOMPUTE_FLAG = 'MAMBA_TFJS_RECOMPUTE';
/** Flag: 'auto' recomputation's threshold, a layer's kept intermediates in MiB (default 256). */
export const RECOMPUTE_ABOVE_FLAG = 'MAMBA_TFJS_RECOMPUTE_ABOVE_MIB';
/** Flag: how many bind groups tfjs-webgpu's dispatches reuse (default 4096; 0 = off). */
export const WEBGPU_BIND_GROUPS_FLAG = 'MAMBA_TFJS_WEBGPU_BIND_GROUPS';
/** Flag: cpu/wasm kernels run the WebAssembly SIMD module ('simd') or the JS loops ('js'). */
export const SCAN_IMPL_FLAG = 'MAMBA_TFJS_SCAN_IMPL';
/** Flag: what a Mamba-2 (SSD) scan in mode 'auto' runs: 'auto' (fused where the backend has the kernel, else chunked), 'fused', 'chunked' or 'sequential'. */
export const SSD_MODE_FLAG = 'MAMBA_TFJS_SSD_MODE';
/** Flag: the WGSL scan's algorithm, 'chunked' or 'sequential'. */
export const WEBGPU_SCAN_MODE_FLAG = 'MAMBA_TFJS_WEBGPU_SCAN_MODE';
/** Flag: chunk length T of the chunked WGSL scan (1 … 64, default 32). */
export const WEBGPU_SCAN_CHUNK_FLAG = 'MAMBA_TFJS_WEBGPU_SCAN_CHUNK';
/** Flag: unroll the WGSL state loops (default false). */
export const WEBGPU_SCAN_UNROLL_FLAG = 'MAMBA_TFJS_WEBGPU_SCAN_UNROLL';
/** Flag: on webgpu, generate() decodes MambaLM through the fused WGSL decoder (default true). */
export const WEBGPU_FUSED_DECODE_FLAG = 'MAMBA_TFJS_WEBGPU_FUSED_DECODE';

/** Flag: threads of the SIMD kernels in Node (0 = one per core, 1 = single-threaded). */
export const THREADS_FLAG = 'MAMBA_TFJS_THREADS';
/** Flag: threads of tfjs's wasm backend in Node (its threaded build; 0 = one per core, 1 = the default build). */
export const WASM_THREADS_FLAG = 'MAMBA_TFJS_WASM_THREADS';
/** Flag: on wasm, a Mamba mixer's decoding step runs its recurrent part as one MambaMixerStep kernel (default true). */
export const FUSED_STEP_FLAG = 'MAMBA_TFJS_FUSED_STEP';

/** Every flag name, in the table's order. */
export const FLAGS = [
  BACKEND_FLAG, FUSED_BLOCK_FLAG, RECOMPUTE_FLAG, RECOMPUTE_ABOVE_FLAG, SCAN_IMPL_FLAG, SSD_MODE_FLAG,
  WEBGPU_SCAN_MODE_FLAG, WEBGPU_SCAN_CHUNK_FLAG, WEBGPU_SCAN_UNROLL_FLAG, WEBGPU_FUSED_DECODE_FLAG, WEBGPU_BIND_GROUPS_FLAG, THREADS_FLAG,
  WASM_THREADS_FLAG, FUSED_STEP_FLAG,
] as const;

/** Values of MAMBA_TFJS_RECOMPUTE. */
export type RecomputePolicy = 'auto' | 'true' | 'false';
/** Values of MAMBA_TFJS_SCAN_IMPL. */
export type ScanImpl = 'simd' | 'js';
/** Values of MAMBA_TFJS_SSD_MODE. */
export type SsdModeFlag = 'auto' | 'fused' | 'chunked' | 'sequential';
/** Values of MAMBA_TFJS_WEBGPU_SCAN_MODE. */
export type WebgpuScanMode = 'chunked' | 'sequential';

/** A tfjs flag's value. */
type FlagValue = number | boolean | string;

const ENV = tf.env();

/** Registers each flag unless this tfjs environment has it already (a second copy of this module). */
function register(name: string, evaluate: () => FlagValue, check?: (v: FlagValue) => void): void {
  if ((ENV as unknown as { flagRegistry: Record<string, unknown> }).flagRegistry[name] != null) return;
  ENV.registerFlag(name, evaluate, check);
}

/** Throws a one-line error unless `v` is one of `allowed`. */
function oneOf(name: string, allowed: readonly FlagValue[]): (v: FlagValue) => void {
  return (v) => {
    if (!allowed.includes(v)) throw new Error(`${name}: expected one of ${allowed.join(', ')}, got ${String(v)}`);
  };
}

register(BACKEND_FLAG, () => envVar(BACKEND_FLAG) ?? '');
register(FUSED_BLOCK_FLAG, () => envBool(FUSED_BLOCK_FLAG, true), oneOf(FUSED_BLOCK_FLAG, [true, false]));
register(RECOMPUTE_FLAG, () => envChoice(RECOMPUTE_FLAG, ['1', 'true', '0', 'false'], 'auto').replace('1', 'true').replace('0', 'false'),
  oneOf(RECOMPUTE_FLAG, ['auto', 'true', 'false', true, false])); // tfjs parses URL flags 'true' into true
register(SCAN_IMPL_FLAG, () => envChoice<ScanImpl>(SCAN_IMPL_FLAG, ['simd', 'js'], 'simd'), oneOf(SCAN_IMPL_FLAG, ['simd', 'js']));
const SSD_MODES: SsdModeFlag[] = ['auto', 'fused', 'chunked', 'sequential'];
register(SSD_MODE_FLAG, () => envChoice<SsdModeFlag>(SSD_MODE_FLAG, SSD_MODES, 'auto'), oneOf(SSD_MODE_FLAG, SSD_MODES));
register(WEBGPU_SCAN_MODE_FLAG, () => envChoice<WebgpuScanMode>(WEBGPU_SCAN_MODE_FLAG, ['chunked', 'sequential'], 'chunked'),
  oneOf(WEBGPU_SCAN_MODE_FLAG, ['chunked', 'sequential']));
register(WEBGPU_SCAN_CHUNK_FLAG, () => Number(envVar(WEBGPU_SCAN_CHUNK_FLAG) ?? 32), (v) => {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 64) {
    throw new Error(`${WEBGPU_SCAN_CHUNK_FLAG}: expected an integer in [1, 64], got ${String(v)}`);
  }
});
register(WEBGPU_SCAN_UNROLL_FLAG, () => envBool(WEBGPU_SCAN_UNROLL_FLAG, false), oneOf(WEBGPU_SCAN_UNROLL_FLAG, [true, false]));
register(WEBGPU_FUSED_DECODE_FLAG, () => envBool(WEBGPU_FUSED_DECODE_FLAG, true), oneOf(WEBGPU_FUSED_DECODE_FLAG, [true, false]));
/** Throws a one-line error unless `v` is an integer >= 0. */
const count = (name: string) => (v: FlagValue) => {
  if (!Number.isInteger(v) || (v as number) < 0) throw new Error(`${name}: expected an integer >= 0, got ${String(v)}`);
};
register(THREADS_FLAG, () => Number(envVar(THREADS_FLAG) ?? 0), count(THREADS_FLAG));
register(WASM_THREADS_FLAG, () => {
  const v = envVar(WASM_THREADS_FLAG) ?? 'auto';
  return v === 'auto' ? v : Number(v);
}, (v) => {
  if (v !== 'auto' && !(Number.isInteger(v) && (v as number) >= 0)) throw new Error(`${WASM_THREADS_FLAG}: expected 'auto' or an integer >= 0, got ${String(v)}`);
});
register(FUSED_STEP_FLAG, () => envBool(FUSED_STEP_FLAG, true), oneOf(FUSED_STEP_FLAG, [true, false]));
register(RECOMPUTE_ABOVE_FLAG, () => Number(envVar(RECOMPUTE_ABOVE_FLAG) ?? 256), count(RECOMPUTE_ABOVE_FLAG));
register(WEBGPU_BIND_GROUPS_FLAG, () => Number(envVar(WEBGPU_BIND_GROUPS_FLAG) ?? 4096), count(WEBGPU_BIND_GROUPS_FLAG));

/** MAMBA_TFJS_FUSED_BLOCK. */
export const fusedBlockEnabled = (): boolean => ENV.getBool(FUSED_BLOCK_FLAG);
/** MAMBA_TFJS_FUSED_STEP. */
export const fusedStepEnabled = (): boolean => ENV.getBool(FUSED_STEP_FLAG);
/** MAMBA_TFJS_RECOMPUTE. */
export const recomputePolicy = (): RecomputePolicy => String(ENV.get(RECOMPUTE_FLAG)) as RecomputePolicy;
/** MAMBA_TFJS_RECOMPUTE_ABOVE_MIB. */
export const recomputeAboveMiB = (): number => ENV.getNumber(RECOMPUTE_ABOVE_FLAG);
/** MAMBA_TFJS_WEBGPU_BIND_GROUPS. */
export const webgpuBindGroupCacheSize = (): number => ENV.getNumber(WEBGPU_BIND_GROUPS_FLAG);
/** MAMBA_TFJS_SCAN_IMPL. */
export const scanImpl = (): ScanImpl => ENV.get(SCAN_IMPL_FLAG) as ScanImpl;
/** MAMBA_TFJS_SSD_MODE. */
export const ssdModeFlag = (): SsdModeFlag => ENV.get(SSD_MODE_FLAG) as SsdModeFlag;
/** MAMBA_TFJS_WEBGPU_FUSED_DECODE. */
export const webgpuFusedDecode = (): boolean => ENV.getBool(WEBGPU_FUSED_DECODE_FLAG);
/** MAMBA_TFJS_THREADS (0 = one per core). */
export const threadsFlag = (): number => ENV.getNumber(THREADS_FLAG);
/** MAMBA_TFJS_WASM_THREADS ('auto' = one per free core, 0 = one per core). */
export const wasmThreadsFlag = (): number | 'auto' => {
  const v = ENV.get(WASM_THREADS_FLAG);
  return v === 'auto' ? v : Number(v);
};
/** MAMBA_TFJS_BACKEND ('' when unset). */
export const backendFlag = (): string => String(ENV.get(BACKEND_FLAG));
/** The WGSL scan's settings: MAMBA_TFJS_WEBGPU_SCAN_MODE, _CHUNK and _UNROLL. */
export function webgpuScanTuning(): { mode: WebgpuScanMode; chunk: number; unroll: boolean } {
  return {
    mode: ENV.get(WEBGPU_SCAN_MODE_FLAG) as WebgpuScanMode,
    chunk: ENV.getNumber(WEBGPU_SCAN_CHUNK_FLAG),
    unroll: ENV.getBool(WEBGPU_SCAN_UNROLL_FLAG),
  };
}
