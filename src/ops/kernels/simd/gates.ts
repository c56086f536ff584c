/**
 * The block's elementwise gates over float32 arrays: the SIMD module's exports (asm/gates.ts) when it is loaded and
 * the flag MAMBA_TFJS_SCAN_IMPL is not 'js' — split over the worker pool (./parallel.ts) when the arrays are large
 * enough (minParallelWork) — else JS loops in float64, each output rounded once to float32.
 *   silu       {x}        → x σ(x)
 *   siluMul    {x, g}     → g · x σ(x)
 *   sigmoidMul {x, g}     → g · σ(x)
 *   siluGrad   {x, dy}    → dy · σ(x)(1 + x(1 − σ(x)))
 *   gateGrad   {z, y, dg} → [y · silu(z), dg · silu(z), dg · y · silu'(z)]
 * Every array holds the same number of floats (the caller checks shapes).
 */
import { activeScanModule } from './scan';
import { Arena, ensureMemory, view } from './arena';
import { elementwiseParallel, parallelPool } from './parallel';
import type { GateFunction } from './pool';

type GateExports = { memory: WebAssembly.Memory; heapBase(): number; fillGateTable?(tbl: number): void } & Record<GateFunction, ((...args: number[]) => void) | undefined>;

/** Bytes of the gates' constants table (asm/gates.ts GATE_TABLE_BYTES). */
export const GATE_TABLE_BYTES = 240;

/** σ(x) in float64, without overflow. */
function sigmoid64(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** silu(x) in float64; silu(−∞) = −0 (the limit), silu(+∞) = +∞. */
function silu64(x: number): number {
  return x === -Infinity ? -0 : x * sigmoid64(x);
}

/** silu'(x) = σ(x)(1 + x σ(−x)) in float64; 0 at −∞, 1 at +∞ (the limits). */
function dsilu64(x: number): number {
  if (x === -Infinity) return 0;
  if (x === Infinity) return 1;
  return sigmoid64(x) * (1 + x * sigmoid64(-x));
}

/** The JS loop of each kernel: outs[k][i] from ins[k][i]. */
const JS: Record<GateFunction, (ins: Float32Array[], outs: Float32Array[], i: number) => void> = {
  siluArray: ([x], [o], i) => (o[i] = silu64(x[i])),
  siluMulArray: ([x, g], [o], i) => (o[i] = g[i] * silu64(x[i])),
  sigmoidMulArray: ([x, g], [o], i) => (o[i] = g[i] * sigmoid64(x[i])),
  siluGradArray: ([x, dy], [o], i) => (o[i] = dy[i] * dsilu64(x[i])),
  gateGradArray: ([z, y, dg], [g, dy, dz], i) => {
    const s = silu64(z[i]);
    g[i] = y[i] * s;
    dy[i] = dg[i] * s;
    dz[i] = dg[i] * y[i] * dsilu64(z[i]);
  },
};

/**
 * Runs the gate kernel `fn` over `ins` into `outs` (all of one length): copied into the SIMD module's memory, run
 * there (on the pool when large), copied back; or the JS loop when the module is absent, forced off, or cannot grow.
 */
function runGate(fn: GateFunction, ins: Float32Array[], outs: Float32Array[]): void {
  const n = ins[0].length;
  const arrays = [...ins, ...outs];
  if (arrays.some((a) => a.length !== n)) {
    throw new Error(`${fn}: expected arrays of one length, got ${arrays.map((a) => a.length).join(', ')}`);
  }
  if (n === 0) return;
  const m = activeScanModule() as unknown as GateExports | null;
  const kernel = m?.[fn];
  if (m && typeof kernel === 'function' && typeof m.fillGateTable === 'function') {
    const ar = new Arena(m.heapBase());
    const ptrs = arrays.map(() => ar.f32(n));
    const tbl = ar.f32(GATE_TABLE_BYTES / 4);
    if (ensureMemory(m.memory, ar.end)) {
      const buf = m.memory.buffer;
      ins.forEach((a, k) => view(buf, ptrs[k], n).set(a));
      m.fillGateTable(tbl);
      const pool = parallelPool(m, n);
      if (pool) elementwiseParallel(pool, fn, ptrs, n, [tbl]);
      else kernel(...ptrs, n, tbl);
      outs.forEach((a, k) => a.set(view(buf, ptrs[ins.length + k], n)));
      return;
    }
  }
  const js = JS[fn];
  for (let i = 0; i < n; i++) js(ins, outs, i);
}

/** out = silu(x). */
export function siluInto(x: Float32Array, out: Float32Array): void {
  runGate('siluArray', [x], [out]);
}

/** out = g · silu(x). */
export function siluMulInto(x: Float32Array, g: Float32Array, out: Float32Array): void {
  runGate('siluMulArray', [x, g], [out]);
}

/** out = g · σ(x). */
export function sigmoidMulInto(x: Float32Array, g: Float32Array, out: Float32Array): void {
  runGate('sigmoidMulArray', [x, g], [out]);
}

/** out = dy · silu'(x). */
export function siluGradInto(x: Float32Array, dy: Float32Array, out: Float32Array): void {
  runGate('siluGradArray', [x, dy], [out]);
}

/** The gate y · silu(z) backward from its output gradient dg: g = y · silu(z), dy = dg · silu(z), dz = dg · y · silu'(z). */
export function gateGradInto(z: Float32Array, y: Float32Array, dg: Float32Array, g: Float32Array, dy: Float32Array, dz: Float32Array): void {
  runGate('gateGradArray', [z, y, dg], [g, dy, dz]);
}
