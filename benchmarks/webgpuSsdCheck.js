#!/usr/bin/env node
/**
 * The fused SSD (Mamba-2) WGSL kernels (src/ops/kernels/webgpu/ssd.ts) on a real GPU in Node: y, the final state and
 * the seven gradients (x, dt, A, B, C, D, h0) of fusedSsd on webgpu against the cpu backend's fused kernel, on the
 * shapes of test/browser/ssdKernels.test.ts (checked there on SwiftShader against a float64 reference) plus released
 * Mamba-2 sizes (P 64, N 128, 8 heads, L 256). Shapes: B batch, L length, H heads, P head dim, G groups, N state size.
 *
 *   npm run build && node benchmarks/webgpuSsdCheck.js [out.json]
 *
 * Error: max |webgpu − cpu| / max(max |cpu|, 1e-6) per output; pass ≤ 1e-4. Also the time of the forward + backward.
 */
'use strict';
const fs = require('fs');
const { tf, mamba, machine } = require('./lib');
const { fusedSsd } = require('../dist/ops/ssd/fusedSsd.js');

const CASES = [
  ['B2 L1 H4 P3 G2 N5', { B: 2, L: 1, H: 4, P: 3, G: 2, N: 5 }, 'realistic'],
  ['B2 L37 H4 P3 G2 N5', { B: 2, L: 37, H: 4, P: 3, G: 2, N: 5 }, 'realistic'],
  ['B1 L50 H2 P16 G1 N16', { B: 1, L: 50, H: 2, P: 16, G: 1, N: 16 }, 'realistic'],
  ['B2 L23 H2 P4 G2 N8 underflow', { B: 2, L: 23, H: 2, P: 4, G: 2, N: 8 }, 'underflow'],
  ['B1 L9 H2 P64 G1 N128', { B: 1, L: 9, H: 2, P: 64, G: 1, N: 128 }, 'realistic'],
  ['B2 L256 H8 P64 G1 N128 (mamba2 sizes)', { B: 2, L: 256, H: 8, P: 64, G: 1, N: 128 }, 'realistic'],
];
const TOL = 1e-4;
const log = (s) => process.stderr.write(`webgpuSsdCheck: ${s}\n`);

/** A seeded uniform stream in [0, 1) (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeCase(d, seed, kind) {
  const r = rng(seed);
  const arr = (n, f) => Float32Array.from({ length: n }, f);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const { B, L, H, P, G, N } = d;
  const under = kind === 'underflow';
  return {
    x: arr(B * L * H * P, normal), dt: arr(B * L * H, () => (under ? 2 + 3 * r() : 0.001 + 0.1 * r())),
    A: arr(H, () => -(under ? 20 + 20 * r() : 0.5 + 3.5 * r())), Bm: arr(B * L * G * N, normal), Cm: arr(B * L * G * N, normal),
    D: arr(H, normal), h0: arr(B * H * P * N, () => 0.5 * normal()), dy: arr(B * L * H * P, normal), dstate: arr(B * H * P * N, normal),
  };
}

/** y, state and the seven gradients on the active backend, as Float32Arrays, and the time of the whole. */
async function outputs(d, c) {
  const { B, L, H, P, G, N } = d;
  const t = (v, s) => tf.tensor(v, s, 'float32');
  const ins = [t(c.x, [B, L, H, P]), t(c.dt, [B, L, H]), t(c.A, [H]), t(c.Bm, [B, L, G, N]), t(c.Cm, [B, L, G, N]), t(c.D, [H]), t(c.h0, [B, H, P, N])];
  const w = t(c.dy, [B, L, H, P]);
  const ws = t(c.dstate, [B, H, P, N]);
  const run = (a) => fusedSsd({ x: a[0], dt: a[1], a: a[2], bm: a[3], cm: a[4], d: a[5] }, a[6]);
  const t0 = performance.now();
  const { y, state } = run(ins);
  const grads = tf.grads((...a) => {
    const o = run(a);
    return tf.add(tf.sum(tf.mul(o.y, w)), tf.sum(tf.mul(o.state, ws)));
  })(ins);
  const named = { y, state };
  ['dx', 'ddt', 'dA', 'dB', 'dC', 'dD', 'dh0'].forEach((k, i) => (named[k] = grads[i]));
  const out = {};
  for (const [k, v] of Object.entries(named)) out[k] = await v.data();
  const ms = performance.now() - t0;
  tf.dispose([...Object.values(named), ...ins, w, ws]);
  return { out, ms };
}

async function main() {
  const file = process.argv[2];
  const rows = [];
  for (const [k, [name, d, kind]] of CASES.entries()) {
    const c = makeCase(d, 300 + k, kind);
    await mamba.selectBackend('cpu');
    const ref = await outputs(d, c);
    await mamba.selectBackend('webgpu');
    await outputs(d, c); // warm-up: pipelines compiled
    const before = tf.memory().numTensors;
    const gpu = await outputs(d, c);
    const errors = {};
    for (const [o, want] of Object.entries(ref.out)) {
      const got = gpu.out[o];
      let diff = 0;
      let scale = 1e-6;
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      errors[o] = +(diff / scale).toExponential(2);
    }
    const worst = Math.max(...Object.values(errors));
    const row = { case: name, dims: d, kind, errors, worst, pass: worst <= TOL && Number.isFinite(worst), leaked: tf.memory().numTensors - before, webgpuMs: +gpu.ms.toFixed(1), cpuMs: +ref.ms.toFixed(1) };
    log(JSON.stringify(row));
    rows.push(row);
  }
  const result = { date: new Date().toISOString(), machine: machine(), tolerance: TOL, pass: rows.every((r) => r.pass && r.leaked === 0), cases: rows };
  const text = JSON.stringify(result, null, 2);
  if (file) fs.writeFileSync(file, text);
  console.log(text);
  process.exit(result.pass ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
