#!/usr/bin/env node
/**
 * Fused-scan kernel micro-benchmark: the JS loops (dist/ops/kernels/js/scanMath) vs the
 * WebAssembly SIMD module (dist/ops/kernels/simd/scan), forward and backward, no tfjs.
 *
 * Shapes: B batch, L length, ED channels, N state size.
 * Usage (after `npm run build`):
 *   node benchmarks/scanKernel.js [--dims 1,1024,1024,16;4,256,128,16] [--reps 7]
 * Reports per shape and implementation the median and minimum wall time and the
 * median process CPU time (steadier than wall time on a shared machine).
 * OPS_DIR=<dir> loads the modules from another build of dist/ops/kernels.
 */
const path = require('path');

const opsDir = process.env.OPS_DIR || path.join(__dirname, '..', 'dist', 'ops', 'kernels');
const { fusedScanForward, fusedScanBackward } = require(path.join(opsDir, 'js', 'scanMath'));
const { fusedScanForwardFast, fusedScanBackwardFast, scanKernelImpl } = require(path.join(opsDir, 'simd', 'scan'));
const { rng, uniformArray } = require('./random');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Realistic inputs: delta log-uniform in [1e-3, 0.1], A = -(1..N), the rest in [-1, 1]. */
function makeInputs({ B, L, ED, N }) {
  const r = rng(1);
  const uni = (n) => uniformArray(r, n);
  return {
    x: uni(B * L * ED), // (B, L, ED)
    delta: Float32Array.from({ length: B * L * ED }, () => Math.exp(Math.log(1e-3) + Math.log(100) * r())), // (B, L, ED)
    A: Float32Array.from({ length: ED * N }, (_, k) => -((k % N) + 1)), // (ED, N)
    Bm: uni(B * L * N), // (B, L, N)
    Cm: uni(B * L * N), // (B, L, N)
    D: uni(ED), // (ED)
    dy: uni(B * L * ED), // (B, L, ED)
  };
}

/** Median of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Times `fn` (one warm-up call): wall median / min and CPU median, in ms. */
function time(fn, reps) {
  fn();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  return { wallMs: median(wall), minMs: Math.min(...wall), cpuMs: median(cpu) };
}

function main() {
  const reps = Number(arg('reps', '7'));
  const shapes = arg('dims', '1,1024,1024,16;4,256,128,16').split(';').map((s) => {
    const [B, L, ED, N] = s.split(',').map(Number);
    return { B, L, ED, N };
  });
  console.log(`impl available: ${scanKernelImpl()}`);
  const rows = [];
  for (const dims of shapes) {
    const p = makeInputs(dims);
    const runs = {
      'js forward': () => fusedScanForward(p.x, p.delta, p.A, p.Bm, p.Cm, p.D, dims),
      'simd forward': () => fusedScanForwardFast(p.x, p.delta, p.A, p.Bm, p.Cm, p.D, dims),
      'js backward': () => fusedScanBackward(p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.dy, dims),
      'simd backward': () => fusedScanBackwardFast(p.x, p.delta, p.A, p.Bm, p.Cm, p.D, p.dy, dims),
    };
    for (const [name, fn] of Object.entries(runs)) {
      const t = time(fn, reps);
      rows.push({ dims: `${dims.B},${dims.L},${dims.ED},${dims.N}`, name, ...t });
      console.log(`B,L,ED,N ${rows.at(-1).dims}  ${name.padEnd(14)} wall median ${t.wallMs.toFixed(1)} ms (min ${t.minMs.toFixed(1)}), cpu ${t.cpuMs.toFixed(1)} ms`);
    }
  }
  return rows;
}

main();
