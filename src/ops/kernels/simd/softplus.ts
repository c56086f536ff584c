/**
 * softplus over a float32 array: the SIMD module's softplusArray (asm/softplus.ts) when it is loaded and the flag
 * MAMBA_TFJS_SCAN_IMPL is not 'js', else the JS loop Math.log1p(Math.exp(−|x|)) + max(x, 0).
 */
import { activeScanModule } from './scan';
import { Arena, ensureMemory, view } from './arena';
import { parallelPool, softplusParallel } from './parallel';

interface SoftplusExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  softplusArray(src: number, dst: number, count: number): void;
}

/** y = softplus(x), elementwise, through the SIMD module when it loads, else in JS. */
export function softplusInto(x: Float32Array, y: Float32Array): void {
  const m = activeScanModule() as unknown as SoftplusExports | null;
  const n = x.length;
  const ar = m && new Arena(m.heapBase());
  const p = ar && { x: ar.f32(n), y: ar.f32(n) };
  if (m && ar && p && n > 0 && typeof m.softplusArray === 'function' && ensureMemory(m.memory, ar.end)) {
    view(m.memory.buffer, p.x, n).set(x);
    const pool = parallelPool(m, n);
    if (pool) softplusParallel(pool, p.x, p.y, n);
    else m.softplusArray(p.x, p.y, n);
    y.set(view(m.memory.buffer, p.y, n));
    return;
  }
  for (let i = 0; i < n; i++) y[i] = Math.max(x[i], 0) + Math.log1p(Math.exp(-Math.abs(x[i])));
}
