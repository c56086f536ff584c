/**
 * Fast fused SSD scan: the functions of ../js/ssdMath.ts run by the WebAssembly SIMD module (asm/ssd.ts), with the
 * JS loops as fallback when the module cannot load or the flag MAMBA_TFJS_SCAN_IMPL = 'js' asks for them.
 *
 * Shape glossary: B batch, L length, H heads, P head dim, G groups, N state size, NP = N rounded up to a multiple
 * of 4 (the module's f32x4 width).
 *
 * Each call copies its inputs into the module's memory (rows of N padded to NP with zeros), computes the decays
 * a = exp(dt·A) (B, L, H) in float64 here (one exp per step and head), runs there and copies the results out.
 */
import { SsdArrays, SsdDims, SsdGrads, SsdOutputs, checkSsd, ssdBackward, ssdForward, ssdSizes } from '../js/ssdMath';
import { activeScanModule } from './scan';
import { Arena, ensureMemory, pad4, view } from './arena';

/** Copies `rows` rows of n floats into rows of np ≥ n floats (zero-padded), or back (`out`). */
function rows(dst: Float32Array, src: Float32Array, count: number, n: number, np: number, out = false): void {
  if (n === np) {
    dst.set(out ? src.subarray(0, dst.length) : src);
    return;
  }
  if (!out) dst.fill(0);
  for (let r = 0; r < count; r++) {
    for (let k = 0; k < n; k++) {
      if (out) dst[r * n + k] = src[r * np + k];
      else dst[r * np + k] = src[r * n + k];
    }
  }
}

/** The decays exp(dt·A) (B, L, H) in float64. */
function decays(dt: Float32Array, A: Float32Array, H: number): Float64Array {
  return Float64Array.from(dt, (v, k) => Math.exp(v * A[k % H]));
}

/** True when every size is positive (the JS loops handle empty problems and raise the size errors). */
function fits(d: SsdDims): boolean {
  return [d.B, d.L, d.H, d.P, d.G, d.N].every((v) => Number.isInteger(v) && v > 0) && d.H % d.G === 0;
}

/** Forward, same contract as {@link ssdForward}. */
export function ssdForwardFast(i: SsdArrays, d: SsdDims, out: Partial<SsdOutputs> = {}): SsdOutputs {
  const wasm = activeScanModule();
  if (wasm == null || !fits(d)) return ssdForward(i, d, out);
  const sz = ssdSizes(d);
  checkSsd(d, [['x', i.x, sz.x], ['dt', i.dt, sz.dt], ['A', i.A, sz.A], ['Bm', i.Bm, sz.Bm], ['Cm', i.Cm, sz.Cm], ['D', i.D, sz.D],
    ['h0', i.h0, sz.h0], ['out.y', out.y, sz.y], ['out.state', out.state, sz.state]]);
  const { B, L, H, P, G, N } = d;
  const NP = pad4(N);
  const nS = B * H * P; // state rows
  const ar = new Arena(wasm.heapBase());
  const p = {
    x: ar.f32(sz.x), dt: ar.f32(sz.dt), a: ar.bytes(8 * sz.dt), Bm: ar.f32(B * L * G * NP), Cm: ar.f32(B * L * G * NP),
    D: ar.f32(H), h0: ar.f32(nS * NP), y: ar.f32(sz.y), state: ar.f32(nS * NP),
  };
  if (!ensureMemory(wasm.memory, ar.end)) return ssdForward(i, d, out);
  const buf = wasm.memory.buffer;
  view(buf, p.x, sz.x).set(i.x);
  view(buf, p.dt, sz.dt).set(i.dt);
  new Float64Array(buf, p.a, sz.dt).set(decays(i.dt, i.A, H));
  rows(view(buf, p.Bm, B * L * G * NP), i.Bm, B * L * G, N, NP);
  rows(view(buf, p.Cm, B * L * G * NP), i.Cm, B * L * G, N, NP);
  view(buf, p.D, H).set(i.D);
  rows(view(buf, p.h0, nS * NP), i.h0, nS, N, NP);
  wasm.ssdForward(p.x, p.dt, p.a, p.Bm, p.Cm, p.D, p.h0, p.y, p.state, B, L, H, P, G, NP);
  const y = out.y ?? new Float32Array(sz.y); // (B, L, H, P)
  const state = out.state ?? new Float32Array(sz.state); // (B, H, P, N)
  y.set(view(buf, p.y, sz.y));
  rows(state, view(buf, p.state, nS * NP), nS, N, NP, true);
  return { y, state };
}

/** Backward, same contract as {@link ssdBackward}. */
export function ssdBackwardFast(
  i: SsdArrays, dy: Float32Array, dstate: Float32Array, d: SsdDims, out: Partial<SsdGrads> = {},
): SsdGrads {
  const wasm = activeScanModule();
  if (wasm == null || !fits(d)) return ssdBackward(i, dy, dstate, d, out);
  const sz = ssdSizes(d);
  checkSsd(d, [['x', i.x, sz.x], ['dt', i.dt, sz.dt], ['A', i.A, sz.A], ['Bm', i.Bm, sz.Bm], ['Cm', i.Cm, sz.Cm], ['D', i.D, sz.D],
    ['h0', i.h0, sz.h0], ['dy', dy, sz.y], ['dstate', dstate, sz.state], ['out.dx', out.dx, sz.x], ['out.ddt', out.ddt, sz.dt],
    ['out.dA', out.dA, sz.A], ['out.dB', out.dB, sz.Bm], ['out.dC', out.dC, sz.Cm], ['out.dD', out.dD, sz.D], ['out.dh0', out.dh0, sz.h0]]);
  const { B, L, H, P, G, N } = d;
  const NP = pad4(N);
  const nS = B * H * P;
  const nG = B * L * G * NP;
  const ar = new Arena(wasm.heapBase());
  const p = {
    x: ar.f32(sz.x), dt: ar.f32(sz.dt), a: ar.bytes(8 * sz.dt), A: ar.f32(H), Bm: ar.f32(nG), Cm: ar.f32(nG), D: ar.f32(H),
    h0: ar.f32(nS * NP), dy: ar.f32(sz.y), dstate: ar.f32(nS * NP),
    dx: ar.f32(sz.x), ddt: ar.f32(sz.dt), dA: ar.f32(H), dB: ar.f32(nG), dC: ar.f32(nG), dD: ar.f32(H), dh0: ar.f32(nS * NP),
    scratch: ar.bytes(wasm.ssdScratchBytes(L, H, G, NP)),
  };
  if (!ensureMemory(wasm.memory, ar.end)) return ssdBackward(i, dy, dstate, d, out);
  const buf = wasm.memory.buffer;
  view(buf, p.x, sz.x).set(i.x);
  view(buf, p.dt, sz.dt).set(i.dt);
  new Float64Array(buf, p.a, sz.dt).set(decays(i.dt, i.A, H));
  view(buf, p.A, H).set(i.A);
  rows(view(buf, p.Bm, nG), i.Bm, B * L * G, N, NP);
  rows(view(buf, p.Cm, nG), i.Cm, B * L * G, N, NP);
  view(buf, p.D, H).set(i.D);
  rows(view(buf, p.h0, nS * NP), i.h0, nS, N, NP);
  view(buf, p.dy, sz.y).set(dy);
  rows(view(buf, p.dstate, nS * NP), dstate, nS, N, NP);
  wasm.ssdBackward(
    p.x, p.dt, p.a, p.A, p.Bm, p.Cm, p.D, p.h0, p.dy, p.dstate,
    p.dx, p.ddt, p.dA, p.dB, p.dC, p.dD, p.dh0, p.scratch, B, L, H, P, G, NP,
  );
  const g: SsdGrads = {
    dx: out.dx ?? new Float32Array(sz.x), ddt: out.ddt ?? new Float32Array(sz.dt), dA: out.dA ?? new Float32Array(H),
    dB: out.dB ?? new Float32Array(sz.Bm), dC: out.dC ?? new Float32Array(sz.Cm), dD: out.dD ?? new Float32Array(H),
    dh0: out.dh0 ?? new Float32Array(sz.h0),
  };
  g.dx.set(view(buf, p.dx, sz.x));
  g.ddt.set(view(buf, p.ddt, sz.dt));
  g.dA.set(view(buf, p.dA, H));
  rows(g.dB, view(buf, p.dB, nG), B * L * G, N, NP, true);
  rows(g.dC, view(buf, p.dC, nG), B * L * G, N, NP, true);
  g.dD.set(view(buf, p.dD, H));
  rows(g.dh0, view(buf, p.dh0, nS * NP), nS, N, NP, true);
  return g;
}
