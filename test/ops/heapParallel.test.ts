/**
 * The in-heap module's strided projection (asm/mixerStep.ts mixerProjectF32Strided, what the heap pool's threads run
 * on column chunks) against the whole projection and a float64 reference, on a plain and on a shared memory (the
 * module's shared build, ./int8SharedWasmBinary.ts, which tfjs's threaded wasm build needs); and when the heap pool
 * exists. The threads themselves are tested in a child process with tfjs's threaded build (test/wasmThreads.test.ts).
 */
import { int8Wasm, isSharedMemory, int8Module } from '../../src/ops/kernels/simd/int8';
import { heapThreadPool } from '../../src/ops/kernels/simd/pool';
import { rng, uniformArray } from '../helpers/random';

const [M, I, O] = [3, 37, 70];
const r = rng(11);
const x = uniformArray(r, M * I, -1, 1); // (M, I)
const w = uniformArray(r, I * O, -1, 1); // (I, O)
const bias = uniformArray(r, O, -1, 1); // (O)

/** The module over `memory` with x (m, i), w (i, o), bias (o) laid out in it: their pointers and two (m, o) outputs'. */
function layOut(memory: WebAssembly.Memory, [m, i, o]: number[], xs: Float32Array, ws: Float32Array, bs: Float32Array) {
  const mod = int8Wasm(memory);
  if (mod == null) throw new Error('the in-heap module did not load');
  const f = new Float32Array(memory.buffer);
  const [px, pw, pb, py, pz] = [0, m * i, m * i + i * o, m * i + i * o + o, m * i + i * o + o + m * o].map((v) => 64 + 4 * v);
  f.set(xs, px / 4);
  f.set(ws, pw / 4);
  f.set(bs, pb / 4);
  return { mod, f, px, pw, pb, py, pz };
}

/** Lays x, w, bias out in `memory`; returns y (whole) and y (in column chunks) from the module. */
function project(memory: WebAssembly.Memory): { whole: Float32Array; chunked: Float32Array } {
  const { mod, f, px, pw, pb, py, pz } = layOut(memory, [M, I, O], x, w, bias);
  mod.mixerProjectF32(px, I, pw, pb, py, M, I, O);
  for (const [o0, o1] of [[0, 16], [16, 48], [48, 70]]) {
    mod.mixerProjectF32Strided(px, I, pw + 4 * o0, O, pb + 4 * o0, pz + 4 * o0, O, M, I, o1 - o0);
  }
  return { whole: f.slice(py / 4, py / 4 + M * O), chunked: f.slice(pz / 4, pz / 4 + M * O) };
}

test('column chunks of the strided projection equal the whole one bit for bit, on a plain and on a shared memory', () => {
  const plain = project(new WebAssembly.Memory({ initial: 2 }));
  const sharedMemory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
  expect(isSharedMemory(sharedMemory)).toBe(true);
  const shared = project(sharedMemory);
  expect(plain.chunked).toEqual(plain.whole);
  expect(shared.whole).toEqual(plain.whole);
  expect(shared.chunked).toEqual(plain.whole);
  let worst = 0;
  for (let m = 0; m < M; m++) {
    for (let o = 0; o < O; o++) {
      let s = bias[o];
      for (let i = 0; i < I; i++) s += x[m * I + i] * w[i * O + o];
      worst = Math.max(worst, Math.abs(plain.whole[m * O + o] - s));
    }
  }
  expect(worst).toBeLessThan(1e-5);
});

test('no heap pool over a memory that is not shared, nor without the Node factory', () => {
  expect(int8Module('shared')).not.toBeNull();
  expect(heapThreadPool(new WebAssembly.Memory({ initial: 1 }), int8Module('shared'))).toBeNull();
  // The jest setup runs with MAMBA_TFJS_THREADS 1 and installs no heap pool factory: null either way.
  expect(heapThreadPool(new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true }), int8Module('shared'))).toBeNull();
});

test.each([[3, 37, 70], [7, 40, 64]])('rows projected four and two at a time (batched decoding) equal each row alone, bit for bit: M %i, I %i, O %i', (m, i, o) => {
  // [3, 37, 70]: a pair and a row, with input and output tails; [7, 40, 64]: a quad, a pair and a row, no tails.
  const q = rng(m + i + o);
  const [xs, ws, bs] = [uniformArray(q, m * i, -1, 1), uniformArray(q, i * o, -1, 1), uniformArray(q, o, -1, 1)];
  const { mod, f, px, pw, pb, py, pz } = layOut(new WebAssembly.Memory({ initial: 2 }), [m, i, o], xs, ws, bs);
  mod.mixerProjectF32(px, i, pw, pb, py, m, i, o); // rows in fours, twos, ones
  for (let r = 0; r < m; r++) mod.mixerProjectF32(px + 4 * r * i, i, pw, pb, pz + 4 * r * o, 1, i, o); // each row alone
  expect(f.slice(py / 4, py / 4 + m * o)).toEqual(f.slice(pz / 4, pz / 4 + m * o));
});
