/**
 * The wasm backend's replacement kernels of src/ops/wasmKernelFixes.ts — zero-copy 'Slice', shared 'Identity',
 * tiled 2-D 'Transpose' and one-pass leading-axes float32 'Sum' — against the cpu backend's results on
 * identical inputs and against plain-JS references: many slice boxes on ranks 1–5 and dtypes float32 / int32 /
 * bool (string through the original kernel), 2-D and 3-D transposes, sums over leading and other axes, Identity
 * through tf.clone, saved gradient tensors and variables (values right, and the copies survive disposing the
 * original), idempotent registration, heap growth during an op, and flat tensor / byte / heap counts.
 *
 * Shapes are named in the comments; R rows, C columns.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { registerWasmKernelFixes } from '../../src/ops/kernels/wasmFixes';
import { sliceInto, sumLeading, transpose2d } from '../../src/ops/kernels/js/arrays';
import { expectRelClose } from '../helpers/close';
import { rng, uniformArray } from '../helpers/random';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

// Nothing has loaded @tensorflow/tfjs-backend-wasm yet: the fixes cannot install on import.
const fixesBeforeWasmLoaded = registerWasmKernelFixes();

const FIXED = ['Slice', 'Identity', 'Transpose', 'Sum'];
const MARK = '__mambaTfjsWasmFix';

/** The parts of tfjs-backend-wasm's BackendWasm the tests look at. */
interface WasmBackendView {
  numDataIds(): number;
  refCount(dataId: tf.DataId): number;
  wasm: { HEAPU8: Uint8Array };
}
const wasmBackend = (): WasmBackendView => tf.findBackend('wasm') as unknown as WasmBackendView;
const heapBytes = (): number => wasmBackend().wasm.HEAPU8.buffer.byteLength;

/** What a tensor held: shape, dtype and values (numbers, or strings for string tensors). */
interface Result {
  shape: number[];
  dtype: tf.DataType;
  values: (number | string)[];
}

async function read(t: tf.Tensor): Promise<Result> {
  const data = await t.data();
  const values = Array.from(data as ArrayLike<unknown>, (v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : (v as number | string)));
  return { shape: t.shape.slice(), dtype: t.dtype, values };
}

/** Runs `fn` (which builds its own inputs) on `backend` inside tf.tidy, reads every output, disposes them. */
async function runOn(backend: string, fn: () => tf.Tensor[]): Promise<Result[]> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const outs = tf.tidy(fn);
    const res = await Promise.all(outs.map(read));
    tf.dispose(outs);
    return res;
  } finally {
    await tf.setBackend(prev);
  }
}

/** The same computation on wasm (the fixed kernels) and on cpu; wasm must equal cpu exactly. */
async function expectWasmEqualsCpu(fn: () => tf.Tensor[], what: string): Promise<Result[]> {
  const w = await runOn('wasm', fn);
  const c = await runOn('cpu', fn);
  expect(w.length).toBe(c.length);
  for (let i = 0; i < w.length; i++) {
    expect({ what, i, ...w[i] }).toEqual({ what, i, ...c[i] });
  }
  return w;
}

/** Plain-JS slice of the box begin/size out of row-major `src` of `shape`, by multi-index (no run merging). */
function refSlice<T>(src: ArrayLike<T>, shape: number[], begin: number[], size: number[]): T[] {
  const n = size.reduce((a, b) => a * b, 1);
  const out: T[] = [];
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < n; o++) {
    let rem = o;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % size[d];
      rem = Math.floor(rem / size[d]);
    }
    let off = 0;
    for (let d = 0; d < shape.length; d++) off = off * shape[d] + begin[d] + idx[d];
    out.push(src[off]);
  }
  return out;
}

/** A random box inside `shape`: per axis whole, prefix, suffix, interior, one element or (when allowed) empty. */
function randomBox(r: () => number, shape: number[], allowEmpty: boolean): { begin: number[]; size: number[] } {
  const begin: number[] = [];
  const size: number[] = [];
  const put = (b: number, s: number): void => {
    begin.push(b);
    size.push(s);
  };
  for (const n of shape) {
    const kind = Math.floor(r() * (allowEmpty ? 6 : 5));
    const b = Math.floor(r() * n); // in [0, n)
    if (kind === 0 || n === 1) put(0, n); // whole
    else if (kind === 1) put(0, 1 + Math.floor(r() * (n - 1))); // proper prefix
    else if (kind === 2) put(Math.max(b, 1), n - Math.max(b, 1)); // proper suffix
    else if (kind === 3) put(b, 1 + Math.floor(r() * (n - b))); // interior
    else if (kind === 4) put(b, 1); // one element
    else put(b, 0); // empty
  }
  return { begin, size };
}

const SHAPES_BY_RANK: number[][] = [[70], [5, 9], [3, 4, 70], [2, 3, 4, 5], [2, 3, 2, 3, 4]];

/** Values 0, 1, 2, ... as float32 (exact), int32 or bool (alternating by a pattern). */
function iota(n: number, dtype: 'float32' | 'int32' | 'bool'): number[] {
  return Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (i * 7) % 3 === 0 ? 1 : 0 : dtype === 'int32' ? i * 3 - 50 : i + 0.25));
}

beforeAll(async () => {
  expect(await selectBackend('wasm')).toBe('wasm'); // loads the package, then registerWasmKernelFixes()
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('registration', () => {
  test('the fixes install only once the wasm kernels exist (selectBackend does it)', () => {
    expect(fixesBeforeWasmLoaded).toBe(false);
    for (const name of FIXED) {
      const k = tf.getKernel(name, 'wasm');
      expect(k).toBeDefined();
      expect((k?.kernelFunc as unknown as Record<string, unknown>)[MARK]).toBe(true);
      // the cpu backend's kernels are not touched
      expect((tf.getKernel(name, 'cpu')?.kernelFunc as unknown as Record<string, unknown>)[MARK]).toBeUndefined();
    }
  });

  test('registerWasmKernelFixes is idempotent: one kernel each, not wrapped twice, still correct', async () => {
    const before = FIXED.map((n) => tf.getKernel(n, 'wasm')?.kernelFunc);
    expect(registerWasmKernelFixes()).toBe(true);
    expect(registerWasmKernelFixes()).toBe(true);
    const after = FIXED.map((n) => tf.getKernel(n, 'wasm')?.kernelFunc);
    for (let i = 0; i < FIXED.length; i++) expect(after[i]).toBe(before[i]);
    const kernels = tf.getKernelsForBackend('wasm').filter((k) => FIXED.includes(k.kernelName));
    expect(kernels.map((k) => k.kernelName).sort()).toEqual([...FIXED].sort());
    await expectWasmEqualsCpu(() => {
      const x = tf.tensor2d(iota(12, 'float32'), [3, 4]); // (3, 4)
      return [
        tf.slice(x, [1, 1], [2, 2]), // (2, 2)
        tf.transpose(x), // (4, 3)
        tf.sum(x, 0), // (4)
        tf.clone(x), // (3, 4)
      ];
    }, 'after re-registration');
  });
});

describe('plain helpers', () => {
  test('sliceInto equals a multi-index reference on ranks 1-5, every array type', () => {
    const r = rng(1);
    for (const shape of SHAPES_BY_RANK) {
      const n = shape.reduce((a, b) => a * b, 1);
      const srcs = [Float32Array.from(iota(n, 'float32')), Int32Array.from(iota(n, 'int32')), Uint8Array.from(iota(n, 'bool'))];
      for (let rep = 0; rep < 60; rep++) {
        const { begin, size } = randomBox(r, shape, true);
        for (const src of srcs) {
          const dst = new (src.constructor as new (k: number) => typeof src)(size.reduce((a, b) => a * b, 1)); // (size)
          sliceInto(src, shape, begin, size, dst);
          expect({ shape, begin, size, got: Array.from(dst) }).toEqual({ shape, begin, size, got: refSlice(src, shape, begin, size) });
        }
      }
    }
  });

  test('sliceInto: long contiguous runs (the subarray copy) and the whole array', () => {
    const shape = [3, 5, 40]; // (3, 5, 40): runs of 40, 200 and 600 elements
    const src = Float32Array.from(iota(600, 'float32')); // (3, 5, 40)
    for (const [begin, size] of [[[0, 0, 0], [3, 5, 40]], [[1, 0, 0], [2, 5, 40]], [[0, 1, 0], [3, 3, 40]], [[2, 4, 0], [1, 1, 40]]]) {
      const dst = new Float32Array(size.reduce((a, b) => a * b, 1)); // (size)
      sliceInto(src, shape, begin, size, dst);
      expect(Array.from(dst)).toEqual(refSlice(src, shape, begin, size));
    }
  });

  test('transpose2d equals the definition, including 1 x N, N x 1 and non-multiples of the tile', () => {
    for (const [R, C] of [[1, 1], [1, 70], [70, 1], [33, 70], [70, 33], [32, 32], [64, 96], [31, 65]]) {
      const x = Float32Array.from(iota(R * C, 'float32')); // (R, C)
      const out = new Float32Array(R * C).fill(NaN); // (C, R)
      transpose2d(x, R, C, out);
      const ref: number[] = []; // (C, R)
      for (let c = 0; c < C; c++) for (let rr = 0; rr < R; rr++) ref.push(x[rr * C + c]);
      expect(Array.from(out)).toEqual(ref);
    }
  });

  test('sumLeading sums columns in float64 (no float32 cancellation)', () => {
    const r = rng(2);
    const [outer, inner] = [37, 13];
    const x = uniformArray(r, outer * inner, -1, 1); // (outer, inner)
    const ref = new Float64Array(inner); // (inner)
    for (let i = 0; i < outer; i++) for (let j = 0; j < inner; j++) ref[j] += x[i * inner + j];
    const out = new Float32Array(inner).fill(NaN); // (inner)
    sumLeading(x, outer, inner, out);
    expectRelClose(out, ref, 1e-6, 'sumLeading');
    // 2^24 + 1 + 1 + 1 − 2^24: a float32 running sum gives 0, a float64 one 3.
    const y = Float32Array.from([16777216, 1, 1, 1, -16777216]); // (5, 1)
    const o = new Float32Array(1); // (1)
    sumLeading(y, 5, 1, o);
    expect(o[0]).toBe(3);
    // empty: no rows gives zeros
    const z = new Float32Array(4).fill(NaN); // (4)
    sumLeading(new Float32Array(0), 0, 4, z);
    expect(Array.from(z)).toEqual([0, 0, 0, 0]);
  });
});

describe('Slice on wasm', () => {
  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    test(`${dtype}: random boxes on ranks 1-5 equal cpu and the reference`, async () => {
      const r = rng(dtype.length + 10);
      for (const shape of SHAPES_BY_RANK) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = iota(n, dtype); // (shape)
        const boxes = Array.from({ length: 25 }, (_, i) => randomBox(r, shape, i % 5 === 4));
        const res = await expectWasmEqualsCpu(() => {
          const x = tf.tensor(data, shape, dtype); // (shape)
          return boxes.map(({ begin, size }) => tf.slice(x, begin, size)); // (size) each
        }, `slice ${dtype} [${shape}]`);
        boxes.forEach(({ begin, size }, i) => {
          expect(res[i].shape).toEqual(size);
          expect(res[i].dtype).toBe(dtype);
          expect(res[i].values).toEqual(refSlice(data, shape, begin, size));
        });
      }
    });
  }

  test('size -1, short begin/size, number begin, omitted size, empty and whole boxes', async () => {
    const data = iota(2 * 3 * 4, 'float32'); // (2, 3, 4)
    const res = await expectWasmEqualsCpu(() => {
      const x = tf.tensor3d(data, [2, 3, 4]); // (2, 3, 4)
      const v = tf.tensor1d(iota(9, 'int32'), 'int32'); // (9)
      return [
        tf.slice(x, [1, 1, 1], [-1, -1, -1]), // (1, 2, 3)
        tf.slice(x, [0, 2, 0], [-1, 1, -1]), // (2, 1, 4)
        tf.slice(x, [1]), // (1, 3, 4) begin shorter than the rank, no size
        tf.slice(x, [0, 1], [2, 2]), // (2, 2, 4) size shorter than the rank
        tf.slice(x, [0, 0, 0], [2, 3, 4]), // (2, 3, 4) the whole tensor
        tf.slice(x, [1, 0, 3], [1, 3, 0]), // (1, 3, 0) empty
        tf.slice(x, [0, 0, 0], [0, 3, 4]), // (0, 3, 4) empty
        tf.slice(v, 4), // (5) number begin
        tf.slice(v, 3, 4), // (4) number begin and size
        tf.slice(v, [8], [1]), // (1) last element
        tf.slice(v, [9], [0]), // (0) empty at the end
      ];
    }, 'slice variants');
    expect(res.map((t) => t.shape)).toEqual([[1, 2, 3], [2, 1, 4], [1, 3, 4], [2, 2, 4], [2, 3, 4], [1, 3, 0], [0, 3, 4], [5], [4], [1], [0]]);
    expect(res[0].values).toEqual(refSlice(data, [2, 3, 4], [1, 1, 1], [1, 2, 3]));
    expect(res[4].values).toEqual(data);
    expect(res[5].values).toEqual([]);
    expect(res[7].values).toEqual(iota(9, 'int32').slice(4));
  });

  test('slices of reshaped, sliced and transposed tensors (shared and fresh data) are right', async () => {
    const data = iota(6 * 8, 'float32'); // (6, 8)
    await expectWasmEqualsCpu(() => {
      const x = tf.tensor2d(data, [6, 8]); // (6, 8)
      const r3 = tf.reshape(x, [3, 2, 8]); // (3, 2, 8) shares x's data
      const s = tf.slice(x, [1, 2], [4, 5]); // (4, 5)
      const t = tf.transpose(x); // (8, 6)
      return [tf.slice(r3, [1, 1, 3], [2, 1, 4]), tf.slice(s, [1, 1], [2, 3]), tf.slice(t, [2, 0], [3, 6]), tf.slice(tf.slice(t, [0, 1], [8, 4]), [5], [3])];
    }, 'slice of derived tensors');
  });

  test('string tensors still slice (through the original kernel)', async () => {
    const words = ['a', 'bb', 'ccc', 'dddd', 'e', 'ff']; // (2, 3)
    const res = await expectWasmEqualsCpu(() => {
      const s = tf.tensor2d(words, [2, 3], 'string'); // (2, 3)
      return [tf.slice(s, [0, 1], [2, 2]), tf.slice(s, [1, 0], [1, -1])]; // (2, 2), (1, 3)
    }, 'string slice');
    expect(res[0].values).toEqual(['bb', 'ccc', 'e', 'ff']);
    expect(res[1].values).toEqual(['dddd', 'e', 'ff']);
  });

  test('gradient of slice (pad) and of causal-conv-like shifted slices matches cpu', async () => {
    const r = rng(5);
    const x = uniformArray(r, 2 * 7 * 5, -1, 1); // (2, 7, 5)
    const dy = uniformArray(r, 2 * 4 * 5, -1, 1); // (2, 4, 5)
    const w = await runOn('wasm', () => grads());
    const c = await runOn('cpu', () => grads());
    expectRelClose(w[0].values as number[], c[0].values as number[], 1e-6, 'slice gradient');
    function grads(): tf.Tensor[] {
      const xt = tf.tensor3d(x, [2, 7, 5]); // (2, 7, 5)
      const dyt = tf.tensor3d(dy, [2, 4, 5]); // (2, 4, 5)
      const f = (a: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.add(tf.slice(a, [0, 0, 0], [2, 4, 5]), tf.slice(a, [0, 3, 0], [2, 4, 5])), dyt));
      return [tf.grad(f)(xt)]; // (2, 7, 5)
    }
  });

  test('a slice whose output allocation grows the heap reads the input correctly', async () => {
    await tf.setBackend('wasm');
    const before = heapBytes();
    const n = Math.ceil((0.6 * before) / 4); // input and output together need more than the current heap
    const src = new Float32Array(n); // (n)
    for (let i = 0; i < n; i++) src[i] = i % 1000;
    const x = tf.tensor1d(src); // (n)
    const y = tf.slice(x, [1], [n - 1]); // (n - 1)
    expect(heapBytes()).toBeGreaterThan(before);
    const got = (await y.data()) as Float32Array;
    expect(got.length).toBe(n - 1);
    let bad = -1;
    for (let i = 0; i < n - 1 && bad < 0; i++) if (got[i] !== src[i + 1]) bad = i;
    expect(bad).toBe(-1);
    tf.dispose([x, y]);
  });
});

describe('Transpose on wasm', () => {
  test('2-D [1, 0] (fast path): 1 x N, N x 1, 33 x 70 and more, float32 / int32 / bool, equals cpu', async () => {
    for (const [R, C] of [[1, 1], [1, 70], [70, 1], [33, 70], [70, 33], [64, 96]]) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const data = iota(R * C, dtype); // (R, C)
        const [t] = await expectWasmEqualsCpu(() => [tf.transpose(tf.tensor2d(data, [R, C], dtype))], `transpose ${dtype} ${R}x${C}`); // (C, R)
        expect(t.shape).toEqual([C, R]);
        const ref: number[] = []; // (C, R)
        for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) ref.push(data[r * C + c]);
        expect(t.values).toEqual(ref);
      }
    }
  });

  test('fallbacks: 2-D identity perm, 3-D and 4-D perms equal cpu', async () => {
    const data = iota(3 * 4 * 5 * 2, 'float32'); // (3, 4, 5, 2)
    await expectWasmEqualsCpu(() => {
      const x4 = tf.tensor4d(data, [3, 4, 5, 2]); // (3, 4, 5, 2)
      const x3 = tf.reshape(x4, [12, 5, 2]); // (12, 5, 2)
      const x2 = tf.reshape(x4, [24, 5]); // (24, 5)
      return [
        tf.transpose(x2, [0, 1]), // (24, 5)
        tf.transpose(x3, [2, 0, 1]), // (2, 12, 5)
        tf.transpose(x3, [0, 2, 1]), // (12, 2, 5)
        tf.transpose(x4, [3, 1, 0, 2]), // (2, 4, 3, 5)
        tf.transpose(tf.cast(x3, 'int32'), [1, 0, 2]), // (5, 12, 2)
      ];
    }, 'transpose fallbacks');
  });

  test('matMul with transposed operands and its gradient equal cpu', async () => {
    const r = rng(6);
    const a = uniformArray(r, 33 * 70, -1, 1); // (33, 70)
    const b = uniformArray(r, 33 * 9, -1, 1); // (33, 9)
    const fn = (): tf.Tensor[] => {
      const at = tf.tensor2d(a, [33, 70]); // (33, 70)
      const bt = tf.tensor2d(b, [33, 9]); // (33, 9)
      return tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.transpose(p), q))))([at, bt]); // (33, 70), (33, 9)
    };
    const w = await runOn('wasm', fn);
    const c = await runOn('cpu', fn);
    for (let i = 0; i < 2; i++) expectRelClose(w[i].values as number[], c[i].values as number[], 1e-5, `grad ${i}`);
  });

  test('a transpose whose output allocation grows the heap is right', async () => {
    await tf.setBackend('wasm');
    const before = heapBytes();
    const R = 1000;
    const C = Math.ceil((0.6 * before) / 4 / R); // (R, C) input and output together exceed the current heap
    const src = new Float32Array(R * C); // (R, C)
    for (let i = 0; i < src.length; i++) src[i] = i % 4099;
    const x = tf.tensor2d(src, [R, C]); // (R, C)
    const y = tf.transpose(x); // (C, R)
    expect(heapBytes()).toBeGreaterThan(before);
    const got = (await y.data()) as Float32Array;
    let bad = -1;
    for (let c = 0; c < C && bad < 0; c++) for (let r = 0; r < R; r++) if (got[c * R + r] !== src[r * C + c]) bad = c * R + r;
    expect(bad).toBe(-1);
    tf.dispose([x, y]);
  });
});

describe('Sum on wasm', () => {
  /** Float64 sum of `data` of `shape` over `axes`, as the flat output (the kept axes in order). */
  function refSum(data: ArrayLike<number>, shape: number[], axes: number[]): Float64Array {
    const keep = shape.map((_, i) => !axes.includes(i));
    const outShape = shape.filter((_, i) => keep[i]);
    const out = new Float64Array(outShape.reduce((a, b) => a * b, 1)); // (outShape)
    const n = shape.reduce((a, b) => a * b, 1);
    for (let f = 0; f < n; f++) {
      let rem = f;
      let o = 0;
      let mul = 1;
      for (let d = shape.length - 1; d >= 0; d--) {
        const i = rem % shape[d];
        rem = Math.floor(rem / shape[d]);
        if (keep[d]) {
          o += i * mul;
          mul *= shape[d];
        }
      }
      out[o] += data[f];
    }
    return out;
  }

  const shape = [5, 6, 7]; // (5, 6, 7)
  const data = uniformArray(rng(7), 5 * 6 * 7, -1, 1); // (5, 6, 7)
  const cases: { axis: number | number[] | null; keepDims: boolean; axes: number[]; outShape: number[] }[] = [
    { axis: 0, keepDims: false, axes: [0], outShape: [6, 7] },
    { axis: 0, keepDims: true, axes: [0], outShape: [1, 6, 7] },
    { axis: [0, 1], keepDims: false, axes: [0, 1], outShape: [7] },
    { axis: [1, 0], keepDims: true, axes: [0, 1], outShape: [1, 1, 7] },
    { axis: -3, keepDims: false, axes: [0], outShape: [6, 7] },
    { axis: [-3, -2], keepDims: false, axes: [0, 1], outShape: [7] },
    { axis: 2, keepDims: false, axes: [2], outShape: [5, 6] }, // last axis: fallback
    { axis: -1, keepDims: true, axes: [2], outShape: [5, 6, 1] }, // fallback
    { axis: 1, keepDims: false, axes: [1], outShape: [5, 7] }, // middle axis: fallback
    { axis: [0, 2], keepDims: false, axes: [0, 2], outShape: [6] }, // fallback
    { axis: [1, 2], keepDims: false, axes: [1, 2], outShape: [5] }, // fallback
    { axis: null, keepDims: false, axes: [0, 1, 2], outShape: [] }, // all axes: fallback
    { axis: [0, 1, 2], keepDims: true, axes: [0, 1, 2], outShape: [1, 1, 1] }, // fallback
  ];

  test.each(cases.map((c) => [JSON.stringify(c.axis), c.keepDims, c] as const))('float32 axis %s keepDims %s: equals the float64 reference and cpu', async (_, __, c) => {
    const fn = (): tf.Tensor[] => [tf.sum(tf.tensor3d(data, [5, 6, 7]), c.axis ?? undefined, c.keepDims)]; // (outShape)
    const [w] = await runOn('wasm', fn);
    const [cp] = await runOn('cpu', fn);
    expect(w.shape).toEqual(c.outShape);
    expect(cp.shape).toEqual(c.outShape);
    expect(w.dtype).toBe('float32');
    const ref = refSum(data, shape, c.axes);
    expectRelClose(w.values as number[], ref, 1e-5, 'wasm vs float64');
    expectRelClose(w.values as number[], cp.values as number[], 1e-5, 'wasm vs cpu');
  });

  test('int32 and bool sums (fallback) equal cpu exactly', async () => {
    const ints = iota(5 * 6 * 7, 'int32'); // (5, 6, 7)
    const bools = iota(5 * 6 * 7, 'bool'); // (5, 6, 7)
    const res = await expectWasmEqualsCpu(() => {
      const xi = tf.tensor3d(ints, [5, 6, 7], 'int32'); // (5, 6, 7)
      const xb = tf.tensor3d(bools, [5, 6, 7], 'bool'); // (5, 6, 7)
      return [tf.sum(xi, 0), tf.sum(xi, [0, 1], true), tf.sum(xi, 2), tf.sum(xb, 0), tf.sum(xb)]; // (6, 7), (1, 1, 7), (5, 6), (6, 7), ()
    }, 'int sums');
    expect(res[0].dtype).toBe('int32');
    expect(res[1].values).toEqual(Array.from(refSum(ints, shape, [0, 1])));
    expect(res[3].values).toEqual(Array.from(refSum(bools, shape, [0])));
  });

  test('empty leading axis, size-1 axes and a large (B, L, ED) bias-gradient-like sum', async () => {
    const r = rng(8);
    const big = uniformArray(r, 4 * 64 * 130, -1, 1); // (4, 64, 130)
    const res = await expectWasmEqualsCpu(() => [
      tf.sum(tf.zeros([0, 4]), 0), // (4) zeros
      tf.sum(tf.ones([1, 1, 3]), [0, 1]), // (3)
      tf.sum(tf.reshape(tf.range(0, 12), [12, 1]), 0), // (1)
    ], 'small sums');
    expect(res[0].values).toEqual([0, 0, 0, 0]);
    expect(res[1].values).toEqual([1, 1, 1]);
    expect(res[2].values).toEqual([66]);
    const fn = (): tf.Tensor[] => [tf.sum(tf.tensor3d(big, [4, 64, 130]), [0, 1])]; // (130)
    const [w] = await runOn('wasm', fn);
    const [c] = await runOn('cpu', fn);
    expectRelClose(w.values as number[], refSum(big, [4, 64, 130], [0, 1]), 1e-6, 'wasm vs float64');
    expectRelClose(w.values as number[], c.values as number[], 1e-5, 'wasm vs cpu');
  });

  test('the broadcast gradient of a bias (a leading-axes sum) equals the reference', async () => {
    const r = rng(9);
    const x = uniformArray(r, 3 * 11 * 13, -1, 1); // (3, 11, 13)
    const dy = uniformArray(r, 3 * 11 * 13, -1, 1); // (3, 11, 13)
    const fn = (): tf.Tensor[] => {
      const dyt = tf.tensor3d(dy, [3, 11, 13]); // (3, 11, 13)
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.add(a, b), dyt)))([tf.tensor3d(x, [3, 11, 13]), tf.zeros([13])]); // (3, 11, 13), (13)
    };
    const [, db] = await runOn('wasm', fn);
    const [, dbCpu] = await runOn('cpu', fn);
    expect(db.shape).toEqual([13]);
    expectRelClose(db.values as number[], refSum(dy, [3, 11, 13], [0, 1]), 1e-6, 'db vs float64');
    expectRelClose(db.values as number[], dbCpu.values as number[], 1e-5, 'db vs cpu');
  });
});

describe('Identity on wasm', () => {
  beforeEach(async () => {
    await tf.setBackend('wasm');
  });

  /** Allocates and fills some tensors of `n` elements (reusing freed heap blocks), then frees them. */
  function scribble(n: number): void {
    tf.tidy(() => {
      for (let i = 0; i < 4; i++) tf.fill([n], -999 - i).dataSync(); // (n)
    });
  }

  test('tf.clone shares the data, and survives disposing the original (float32, int32, bool)', async () => {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const data = iota(50, dtype); // (5, 10)
      const x = tf.tensor2d(data, [5, 10], dtype); // (5, 10)
      const c = tf.clone(x); // (5, 10)
      expect(c.dtype).toBe(dtype);
      expect(c.shape).toEqual([5, 10]);
      expect(wasmBackend().refCount(x.dataId)).toBe(2); // shared, not copied
      x.dispose();
      expect(wasmBackend().refCount(c.dataId)).toBe(1);
      scribble(50);
      expect(Array.from(await c.data())).toEqual(data);
      // and the other way round: disposing the clone keeps the original
      const y = tf.tensor2d(data, [5, 10], dtype); // (5, 10)
      const d = tf.clone(y); // (5, 10)
      d.dispose();
      scribble(50);
      expect(Array.from(await y.data())).toEqual(data);
      tf.dispose([c, y]);
    }
  });

  test('string tensors clone through the original kernel', async () => {
    const s = tf.tensor1d(['x', 'yy', 'zzz'], 'string'); // (3)
    const c = tf.clone(s); // (3)
    s.dispose();
    expect(await c.array()).toEqual(['x', 'yy', 'zzz']);
    c.dispose();
  });

  test('gradients through saved tensors (products) are right and survive disposing the inputs', async () => {
    const r = rng(11);
    const a = uniformArray(r, 4 * 33, -1, 1); // (4, 33)
    const b = uniformArray(r, 4 * 33, -1, 1); // (4, 33)
    const fn = (): tf.Tensor[] => {
      const at = tf.tensor2d(a, [4, 33]); // (4, 33)
      const bt = tf.tensor2d(b, [4, 33]); // (4, 33)
      // d/da sum(a b a) = 2 a b, d/db = a^2; d/da sum(a b) = b, d/db = a
      return [
        ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(p, q)))([at, bt]), // (4, 33) x 2
        ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.mul(p, q), p)))([at, bt]), // (4, 33) x 2
      ];
    };
    // On wasm, keep the gradients, dispose everything else, scribble over freed memory, then read.
    const grads = tf.tidy(fn); // inputs disposed by tidy
    scribble(4 * 33);
    const got = await Promise.all(grads.map(read));
    tf.dispose(grads);
    expect(got[0].values).toEqual(Array.from(b));
    expect(got[1].values).toEqual(Array.from(a));
    const twoAB = Array.from(a, (v, i) => Math.fround(2 * v * b[i]));
    const aSq = Array.from(a, (v) => Math.fround(v * v));
    expectRelClose(got[2].values as number[], twoAB, 1e-6, '2ab');
    expectRelClose(got[3].values as number[], aSq, 1e-6, 'a^2');
    const cpu = await runOn('cpu', fn);
    for (let i = 0; i < 4; i++) expect(got[i].values).toEqual(cpu[i].values);
  });

  test('a clone of a variable keeps its value after the variable is assigned', async () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3])); // (3)
    const c = tf.clone(v); // (3)
    v.assign(tf.tensor1d([7, 8, 9])); // (3)
    expect(Array.from(await c.data())).toEqual([1, 2, 3]);
    expect(Array.from(await v.data())).toEqual([7, 8, 9]);
    tf.dispose([v, c]);
  });

  test('a few optimizer steps (saved tensors, assign) give the cpu result', async () => {
    const r = rng(12);
    const w0 = uniformArray(r, 6 * 5, -1, 1); // (6, 5)
    const xs = uniformArray(r, 8 * 6, -1, 1); // (8, 6)
    const ys = uniformArray(r, 8 * 5, -1, 1); // (8, 5)
    const train = (): tf.Tensor[] => {
      const w = tf.variable(tf.tensor2d(w0, [6, 5])); // (6, 5)
      const bias = tf.variable(tf.zeros([5])); // (5)
      const x = tf.tensor2d(xs, [8, 6]); // (8, 6)
      const y = tf.tensor2d(ys, [8, 5]); // (8, 5)
      const opt = tf.train.adam(0.05);
      for (let i = 0; i < 5; i++) {
        opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), bias), y))) as tf.Scalar);
      }
      const out = [tf.clone(w), tf.clone(bias)]; // (6, 5), (5)
      opt.dispose();
      tf.dispose([w, bias]);
      return out;
    };
    const wasm = await runOn('wasm', train);
    const cpu = await runOn('cpu', train);
    for (let i = 0; i < 2; i++) expectRelClose(wasm[i].values as number[], cpu[i].values as number[], 1e-5, `param ${i}`);
  });
});

describe('memory', () => {
  test('numTensors, numBytes, data ids and the heap stay flat over many ops', async () => {
    await tf.setBackend('wasm');
    const r = rng(13);
    const x = tf.tensor3d(uniformArray(r, 4 * 32 * 24, -1, 1), [4, 32, 24]); // (4, 32, 24)
    const round = (): void => {
      for (let i = 0; i < 20; i++) {
        tf.tidy(() => {
          const s = tf.slice(x, [1, i, 0], [2, 8, 24]); // (2, 8, 24)
          const t = tf.transpose(tf.reshape(s, [16, 24])); // (24, 16)
          const m = tf.sum(x, [0, 1]); // (24)
          const c = tf.clone(t); // (24, 16)
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.slice(a, [0, 0, 0], [2, 8, 24]), tf.add(b, m))))([x, s]); // (4, 32, 24), (2, 8, 24)
          return [c, ...g];
        }).forEach((t) => t.dispose());
      }
    };
    round(); // warm-up: let the allocator settle
    const start = { ...tf.memory(), ids: wasmBackend().numDataIds(), heap: heapBytes() };
    for (let rep = 0; rep < 5; rep++) round();
    const end = { ...tf.memory(), ids: wasmBackend().numDataIds(), heap: heapBytes() };
    expect(end.numTensors).toBe(start.numTensors);
    expect(end.numBytes).toBe(start.numBytes);
    expect(end.numDataBuffers).toBe(start.numDataBuffers);
    expect(end.ids).toBe(start.ids);
    expect(end.heap).toBe(start.heap);
    x.dispose();
  });

  test('every fixed kernel frees its output when disposed (data ids back to the start)', async () => {
    await tf.setBackend('wasm');
    const ids0 = wasmBackend().numDataIds();
    const n0 = tf.memory().numTensors;
    const x = tf.tensor2d(iota(40, 'float32'), [5, 8]); // (5, 8)
    const outs = [
      tf.slice(x, [1, 1], [2, 3]), // (2, 3)
      tf.slice(x, [0, 0], [0, 8]), // (0, 8)
      tf.transpose(x), // (8, 5)
      tf.sum(x, 0), // (8)
      tf.clone(x), // (5, 8) shares x's data id
    ];
    expect(wasmBackend().numDataIds()).toBe(ids0 + 5);
    tf.dispose([x, ...outs]);
    expect(wasmBackend().numDataIds()).toBe(ids0);
    expect(tf.memory().numTensors).toBe(n0);
  });
});

/**
 * The 'Concat' replacement (makeConcat): tf.concat on wasm against cpu and a plain-JS reference, on ranks 1–4,
 * every axis (also given negative), 1–9 inputs with empty ones among them, short rows (< 256 values per input
 * and row: the copy loop) and long rows (≥ 256: the subarray copy), float32 / int32 / bool, mixed dtypes and
 * string tensors (both left to the original kernel), all-empty outputs, inputs sharing data (reshape, slice,
 * clone), an output allocation that grows the heap, the gradient, registration and tensor counts.
 */
describe('Concat on wasm', () => {
  const DTYPES = ['float32', 'int32', 'bool'] as const;
  type Dtype = (typeof DTYPES)[number];

  /** Plain-JS concat of row-major arrays along `axis` (0 <= axis < rank): row by row, input by input. */
  function refConcat<T>(datas: ArrayLike<T>[], shapes: number[][], axis: number): T[] {
    const outer = shapes[0].slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shapes.map((s) => s.slice(axis).reduce((a, b) => a * b, 1)); // values per row, per input
    const out: T[] = [];
    for (let r = 0; r < outer; r++) {
      datas.forEach((d, i) => {
        for (let j = 0; j < inner[i]; j++) out.push(d[r * inner[i] + j]);
      });
    }
    return out;
  }

  /** Distinct values per input `i`: float32 / int32 offsets, bool patterns. */
  function inputData(n: number, dtype: Dtype, i: number): number[] {
    return Array.from({ length: n }, (_, j) => (dtype === 'bool' ? ((j + i) * 5) % 3 === 0 ? 1 : 0 : dtype === 'int32' ? 1000 * i + j - 7 : 1000 * i + j + 0.5));
  }

  /**
   * `count` shapes of `rank` that agree off `axis`. Long: every input's row (axis size × trailing dims) is
   * long (≥ 256) or empty, or, with the concat axis last, a mix of long and short rows.
   */
  function randomShapes(r: () => number, rank: number, axis: number, count: number, long: boolean): number[][] {
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
    const base = Array.from({ length: rank }, (_, d) => (d === rank - 1 && d !== axis && long ? 257 : 1 + Math.floor(r() * 3)));
    const sizes = long && axis === rank - 1 ? [0, 1, 7, 255, 256, 300] : [0, 1, 1, 2, 3, 4];
    return Array.from({ length: count }, () => base.map((d, k) => (k === axis ? pick(sizes) : d)));
  }

  test('Concat is replaced on wasm (with the marker), cpu is untouched, and re-registering keeps one kernel', async () => {
    const k = tf.getKernel('Concat', 'wasm');
    expect((k?.kernelFunc as unknown as Record<string, unknown>)[MARK]).toBe(true);
    expect((tf.getKernel('Concat', 'cpu')?.kernelFunc as unknown as Record<string, unknown>)[MARK]).toBeUndefined();
    expect(registerWasmKernelFixes()).toBe(true);
    expect(tf.getKernel('Concat', 'wasm')?.kernelFunc).toBe(k?.kernelFunc);
    expect(tf.getKernelsForBackend('wasm').filter((x) => x.kernelName === 'Concat')).toHaveLength(1);
  });

  for (const dtype of DTYPES) {
    test(`${dtype}: ranks 1-4, every axis (positive and negative), 1-9 inputs, short and long rows equal cpu and the reference`, async () => {
      const r = rng(500 + dtype.length);
      for (let rank = 1; rank <= 4; rank++) {
        const cases: { shapes: number[][]; axis: number; given: number; datas: number[][] }[] = [];
        for (let axis = 0; axis < rank; axis++) {
          for (let count = 1; count <= 9; count++) {
            for (const long of [false, true]) {
              const shapes = randomShapes(r, rank, axis, count, long);
              const datas = shapes.map((s, i) => inputData(s.reduce((a, b) => a * b, 1), dtype, i));
              cases.push({ shapes, axis, given: (count + (long ? 1 : 0)) % 2 === 0 ? axis : axis - rank, datas });
            }
          }
        }
        const res = await expectWasmEqualsCpu(() => cases.map((c) =>
          tf.concat(c.datas.map((d, i) => tf.tensor(d, c.shapes[i], dtype)), c.given), // (…, Σ axis sizes, …)
        ), `concat ${dtype} rank ${rank}`);
        cases.forEach((c, i) => {
          const outShape = c.shapes[0].map((d, k) => (k === c.axis ? c.shapes.reduce((a, s) => a + s[k], 0) : d));
          const what = `${dtype} [${c.shapes.map((s) => `[${s}]`)}] axis ${c.given}`;
          expect({ what, shape: res[i].shape, dtype: res[i].dtype }).toEqual({ what, shape: outShape, dtype });
          expect({ what, values: res[i].values }).toEqual({ what, values: refConcat(c.datas, c.shapes, c.axis) });
        });
      }
    });
  }

  test('row lengths around the copy threshold (255, 256, 257 values) and whole-tensor rows', async () => {
    const res = await expectWasmEqualsCpu(() => {
      const t = (rows: number, cols: number, i: number): tf.Tensor2D => tf.tensor2d(inputData(rows * cols, 'float32', i), [rows, cols]); // (rows, cols)
      return [
        tf.concat([t(3, 255, 0), t(3, 256, 1), t(3, 257, 2), t(3, 1, 3)], 1), // (3, 769)
        tf.concat([t(3, 255, 0), t(4, 255, 1), t(1, 255, 2)], 0), // (8, 255) one row: the whole input
        tf.concat([t(2, 300, 0), t(2, 0, 1), t(2, 300, 2)], -1), // (2, 600)
        tf.concat([tf.reshape(t(1, 1000, 0), [1000]), tf.reshape(t(1, 3, 1), [3])]), // (1003)
      ];
    }, 'threshold rows');
    expect(res.map((x) => x.shape)).toEqual([[3, 769], [8, 255], [2, 600], [1003]]);
    const cols = [255, 256, 257, 1];
    expect(res[0].values).toEqual(refConcat(cols.map((c, i) => inputData(3 * c, 'float32', i)), cols.map((c) => [3, c]), 1));
    expect(res[3].values).toEqual([...inputData(1000, 'float32', 0), ...inputData(3, 'float32', 1)]);
  });

  test('empty inputs, all-empty outputs, zero rows and one input (the kernel called directly)', async () => {
    const res = await expectWasmEqualsCpu(() => [
      tf.concat([tf.zeros([2, 0]), tf.zeros([2, 0])], 1), // (2, 0) all empty
      tf.concat([tf.zeros([0, 3]), tf.zeros([0, 2])], 1), // (0, 5) no rows
      tf.concat([tf.zeros([0, 3]), tf.ones([2, 3]), tf.zeros([0, 3])], 0), // (2, 3)
      tf.concat([tf.zeros([0]), tf.zeros([0]), tf.zeros([0])]), // (0)
      tf.concat([tf.zeros([2, 0, 4], 'int32'), tf.fill([2, 1, 4], 7, 'int32'), tf.zeros([2, 0, 4], 'int32')], 1), // (2, 1, 4)
      tf.engine().runKernel('Concat', [tf.tensor2d([1, 2, 3, 4], [2, 2])] as unknown as tf.NamedTensorMap, { axis: 1 }) as tf.Tensor, // (2, 2)
      tf.engine().runKernel('Concat', [tf.zeros([3, 0]), tf.tensor2d([5, 6, 7], [3, 1])] as unknown as tf.NamedTensorMap, { axis: -1 }) as tf.Tensor, // (3, 1)
    ], 'empties');
    expect(res.map((x) => x.shape)).toEqual([[2, 0], [0, 5], [2, 3], [0], [2, 1, 4], [2, 2], [3, 1]]);
    expect(res[2].values).toEqual([1, 1, 1, 1, 1, 1]);
    expect(res[4].values).toEqual(new Array(8).fill(7));
    expect(res[5].values).toEqual([1, 2, 3, 4]);
    expect(res[6].values).toEqual([5, 6, 7]);
  });

  test('mixed dtypes (the original kernel), inputs sharing data (reshape, slice, clone, the same tensor twice)', async () => {
    const res = await expectWasmEqualsCpu(() => {
      const x = tf.tensor2d(iota(24, 'float32'), [4, 6]); // (4, 6)
      const i = tf.tensor2d(iota(8, 'int32'), [4, 2], 'int32'); // (4, 2)
      const x64 = tf.reshape(x, [6, 4]); // (6, 4) shares x's data
      return [
        tf.concat([x, i], 1), // (4, 8)
        tf.concat([tf.tensor2d(iota(8, 'bool'), [4, 2], 'bool'), i], 1), // (4, 4) (not tf.cast(i, 'bool'): wasm's Cast to bool truncates)
        tf.concat([x64, tf.slice(x64, [1, 0], [3, 4]), tf.clone(x64)], 0), // (15, 4)
        tf.concat([x, x, x], 1), // (4, 18)
        tf.concat([tf.transpose(x), tf.transpose(x)], -2), // (12, 4)
      ];
    }, 'mixed and shared');
    expect(res.map((x) => x.shape)).toEqual([[4, 8], [4, 4], [15, 4], [4, 18], [12, 4]]);
    const xs = iota(24, 'float32');
    expect(res[2].values).toEqual([...xs, ...xs.slice(4, 16), ...xs]);
    expect(res[3].values).toEqual(refConcat([xs, xs, xs], [[4, 6], [4, 6], [4, 6]], 1));
  });

  test('string tensors concat through the original kernel', async () => {
    const res = await expectWasmEqualsCpu(() => [
      tf.concat([tf.tensor1d(['a', 'bb'], 'string'), tf.tensor1d(['ccc'], 'string')]), // (3)
      tf.concat([tf.tensor2d(['a', 'b', 'c', 'd'], [2, 2], 'string'), tf.tensor2d(['x', 'y'], [2, 1], 'string')], 1), // (2, 3)
    ], 'strings');
    expect(res[0].values).toEqual(['a', 'bb', 'ccc']);
    expect(res[1].values).toEqual(['a', 'b', 'x', 'c', 'd', 'y']);
  });

  test('the gradient of concat (slices of dy) equals cpu and the reference, on every axis', async () => {
    const r = rng(600);
    for (const [shapes, axis] of [
      [[[2, 3, 5], [2, 1, 5], [2, 4, 5]], 1],
      [[[2, 3, 300], [2, 3, 1]], -1],
      [[[1, 7], [4, 7], [2, 7]], 0],
      [[[3, 2, 2, 4], [3, 2, 2, 0], [3, 2, 2, 260]], 3],
    ] as [number[][], number][]) {
      const datas = shapes.map((s) => uniformArray(r, s.reduce((a, b) => a * b, 1), -1, 1)); // (shape) each
      const outShape = shapes[0].map((d, k) => (k === (axis + shapes[0].length) % shapes[0].length ? shapes.reduce((a, s) => a + s[k], 0) : d));
      const dy = uniformArray(r, outShape.reduce((a, b) => a * b, 1), -1, 1); // (outShape)
      const fn = (): tf.Tensor[] => {
        const dyt = tf.tensor(dy, outShape); // (outShape)
        const xs = datas.map((d, i) => tf.tensor(d, shapes[i])); // (shape) each
        return tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(ts, axis), dyt)))(xs); // (shape) each
      };
      const grads = await expectWasmEqualsCpu(fn, `grad [${shapes.map((s) => `[${s}]`)}] axis ${axis}`);
      // d/dx_i sum(concat(x) · dy) is the part of dy over x_i: concat(grads) along the axis is dy.
      const a = (axis + shapes[0].length) % shapes[0].length;
      expect(refConcat(grads.map((g) => g.values as number[]), shapes, a)).toEqual(Array.from(dy));
      grads.forEach((g, i) => expect(g.shape).toEqual(shapes[i]));
    }
  });

  test('a concat whose output allocation grows the heap copies the inputs correctly', async () => {
    await tf.setBackend('wasm');
    const before = heapBytes();
    const n = Math.ceil((0.3 * before) / 4); // two inputs and the output together need more than the current heap
    const a = new Float32Array(n); // (n)
    const b = new Int32Array(n); // (n)
    for (let i = 0; i < n; i++) {
      a[i] = i % 1013;
      b[i] = -(i % 2027);
    }
    const x = tf.tensor2d(a, [1, n]); // (1, n)
    const y = tf.tensor2d(b, [1, n], 'int32'); // (1, n) int32: the op casts it to float32
    const z = tf.concat([x, y], 1); // (1, 2n)
    expect(heapBytes()).toBeGreaterThan(before);
    const got = (await z.data()) as Float32Array;
    expect(got.length).toBe(2 * n);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (got[i] !== a[i] || got[n + i] !== b[i]) bad = i;
    expect(bad).toBe(-1);
    tf.dispose([x, y, z]);
  });

  test('no leaks: data ids, numTensors and the heap stay flat over concats and their gradients', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor3d(iota(2 * 5 * 70, 'float32'), [2, 5, 70]); // (2, 5, 70)
    const round = (): void => {
      for (let i = 0; i < 10; i++) {
        tf.tidy(() => {
          const c = tf.concat([x, tf.slice(x, [0, 1, 0], [2, 2, 70]), tf.zeros([2, 0, 70])], 1); // (2, 7, 70)
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.concat([a, b], 2))))([x, x]); // (2, 5, 70) x 2
          return [c, ...g];
        }).forEach((t) => t.dispose());
      }
    };
    round(); // warm-up
    const start = { ...tf.memory(), ids: wasmBackend().numDataIds(), heap: heapBytes() };
    for (let rep = 0; rep < 3; rep++) round();
    expect({ ...tf.memory(), ids: wasmBackend().numDataIds(), heap: heapBytes() }).toEqual(start);
    const ids0 = wasmBackend().numDataIds();
    const out = tf.concat([x, x], 0); // (4, 5, 70)
    expect(wasmBackend().numDataIds()).toBe(ids0 + 1);
    out.dispose();
    expect(wasmBackend().numDataIds()).toBe(ids0);
    x.dispose();
  });
});
