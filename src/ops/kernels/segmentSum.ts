/**
 * O(size) `UnsortedSegmentSum` kernels for the 'cpu' and 'wasm' backends.
 *
 * Shape glossary:
 *   S  number of segments (attr numSegments)
 *   K  number of segment ids (the product of segmentIds' shape)
 *   I  inner size: the product of x's dimensions after segmentIds' rank
 *
 *   x          (K..., I...)  segmentIds' shape is a prefix of x's
 *   segmentIds (K...)        int32; ids outside [0, S) are dropped
 *   out        (S, I...)     out[s, ...] = sum over k with ids[k] = s of x[k, ...]
 *
 * Why: tf.gather's gradient is an UnsortedSegmentSum over the gathered axis.
 * tfjs-backend-cpu builds that kernel from tensor ops with one equal/mul/sum pass
 * per segment, O(S x K x I); with a language-model loss that gathers from a
 * (B*L*V) flat tensor (S ~ 74k) a single gradient takes seconds. The JS loop here
 * is O(S x I + K x I) and has the same semantics, so it replaces the built-in cpu
 * kernel outright (tf.unregisterKernel then tf.registerKernel) and fills the gap
 * on wasm, which has no UnsortedSegmentSum of its own in tfjs 4.22.
 *
 * Registered by registerKernels(); idempotent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CpuBackendLike, WasmBackendLike, registerOnce, wasmView } from './kernelIO';

/** Kernel name, as tfjs-core spells it. */
import { SEGMENT_SUM_KERNEL } from './names';

export { SEGMENT_SUM_KERNEL };

/** Marker property on our kernel functions, so re-imports do not re-register. */
const MARK = '__mambaTfjsSegmentSum';

/** Validated sizes of one call. */
interface SegmentSumPlan {
  /** x. */
  x: tf.TensorInfo;
  /** segmentIds. */
  ids: tf.TensorInfo;
  /** Number of segments S. */
  numSegments: number;
  /** Inner size I. */
  inner: number;
  /** Output shape (S, I...). */
  outShape: number[];
}

/** Validates the kernel's inputs and attrs and derives the output shape. */
function plan(inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined): SegmentSumPlan {
  const x = inputs['x'];
  const ids = inputs['segmentIds'];
  if (x == null || ids == null) {
    throw new Error(`${SEGMENT_SUM_KERNEL}: expected inputs {x, segmentIds}, got {${Object.keys(inputs).join(', ')}}`);
  }
  const numSegments = Number((attrs ?? {})['numSegments']);
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`${SEGMENT_SUM_KERNEL}: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  if (ids.dtype !== 'int32') throw new Error(`${SEGMENT_SUM_KERNEL}: segmentIds must be int32, got ${ids.dtype}`);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`${SEGMENT_SUM_KERNEL}: x must be float32 or int32, got ${x.dtype}`);
  }
  const r = ids.shape.length;
  if (r > x.shape.length || ids.shape.some((s, i) => s !== x.shape[i])) {
    throw new Error(
      `${SEGMENT_SUM_KERNEL}: segmentIds shape [${ids.shape}] must be a prefix of x shape [${x.shape}]`,
    );
  }
  const innerShape = x.shape.slice(r); // (I...)
  return { x, ids, numSegments, inner: tf.util.sizeFromShape(innerShape), outShape: [numSegments, ...innerShape] };
}

/**
 * out[ids[k] * I + j] += x[k * I + j] for every k with 0 <= ids[k] < S. `out` must be zeroed.
 *
 * @param x    (K * I) values
 * @param ids  (K) segment ids
 * @param out  (S * I) zero-filled accumulator
 * @param numSegments S
 * @param inner I
 */
export function segmentSumInto(
  x: ArrayLike<number>, ids: ArrayLike<number>, out: Float32Array | Int32Array, numSegments: number, inner: number,
): void {
  const expected = ids.length * inner;
  if (x.length !== expected) throw new Error(`segmentSumInto: x must have ${expected} elements (K * I), got ${x.length}`);
  if (out.length !== numSegments * inner) {
    throw new Error(`segmentSumInto: out must have ${numSegments * inner} elements (S * I), got ${out.length}`);
  }
  for (let k = 0; k < ids.length; k++) {
    const s = ids[k];
    if (s < 0 || s >= numSegments) continue;
    const src = k * inner; // (k, 0) in (K, I)
    const dst = s * inner; // (s, 0) in (S, I)
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

/** cpu kernel: reads the backend's arrays in place, accumulates into a fresh typed array. */
const cpuSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const be = backend as CpuBackendLike;
  const p = plan(inputs, attrs);
  const xv = be.readSync(p.x.dataId) as Float32Array | Int32Array; // (K * I)
  const iv = be.readSync(p.ids.dataId) as Int32Array; // (K)
  const size = p.numSegments * p.inner;
  const out = p.x.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size); // (S * I)
  segmentSumInto(xv, iv, out, p.numSegments, p.inner);
  return be.makeTensorInfo(p.outShape, p.x.dtype, out);
};

/** wasm kernel: reads inputs from and accumulates into the wasm heap. */
const wasmSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const be = backend as WasmBackendLike;
  const p = plan(inputs, attrs);
  const outInfo = be.makeOutput(p.outShape, p.x.dtype); // (S, I...); may grow the heap
  const view = (t: tf.TensorInfo): Float32Array | Int32Array => wasmView(be, t, SEGMENT_SUM_KERNEL);
  const out = view(outInfo); // (S * I)
  out.fill(0);
  segmentSumInto(view(p.x), view(p.ids), out, p.numSegments, p.inner);
  return outInfo;
};
Object.defineProperty(cpuSegmentSum, MARK, { value: true });
Object.defineProperty(wasmSegmentSum, MARK, { value: true });

/** True when the registered (name, backend) kernel is one of ours. */
function isOurs(backendName: string): boolean {
  const k = tf.getKernel(SEGMENT_SUM_KERNEL, backendName);
  return k != null && (k.kernelFunc as unknown as Record<string, unknown>)[MARK] === true;
}

/**
 * Registers the O(size) UnsortedSegmentSum: on 'cpu' it REPLACES the built-in kernel (same semantics,
 * O(S*I + K*I) instead of O(S*K*I)) once tfjs-backend-cpu has registered it (before that, ours would be overwritten
 * with a warning when the package loads; selectBackend() calls registerKernels() again after loading a backend);
 * on 'wasm' it is added only when no kernel is registered. Idempotent.
 */
export function registerSegmentSumKernels(): void {
  if (tf.getKernel(SEGMENT_SUM_KERNEL, 'cpu') != null && !isOurs('cpu')) {
    // The registry refuses duplicate (name, backend) pairs, so drop tfjs-backend-cpu's first.
    tf.unregisterKernel(SEGMENT_SUM_KERNEL, 'cpu');
    tf.registerKernel({ kernelName: SEGMENT_SUM_KERNEL, backendName: 'cpu', kernelFunc: cpuSegmentSum });
  }
  registerOnce(SEGMENT_SUM_KERNEL, 'wasm', wasmSegmentSum);
}

