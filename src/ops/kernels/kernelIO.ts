/**
 * Plumbing shared by the custom tfjs kernels (./scan.ts, ./conv.ts, ./softplus.ts, ./step.ts, ./segmentSum.ts,
 * ./webgpu/*.ts): the parts of the cpu and wasm backends they use, typed access to their
 * arrays, input checks and idempotent registration.
 *
 * Nothing is imported from the backend packages: the backend objects reach the kernels at run time,
 * and the kernel registry is keyed by backend name only.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-cpu's MathBackendCPU the kernels use. */
export interface CpuBackendLike {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** The part of tfjs-backend-wasm's BackendWasm the kernels use. */
export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** WasmBackendLike with disposeData: what the in-heap SIMD kernels (./stepWasm.ts, ./mixerStep.ts, ./int8.ts) use. */
export interface HeapBackend extends WasmBackendLike {
  disposeData(dataId: tf.DataId): boolean;
}

/** The byte offset of a tensor's data in the wasm heap (a pointer for the in-heap module). */
export function heapPtr(be: WasmBackendLike, t: tf.TensorInfo): number {
  return be.dataIdMap.get(t.dataId)!.memoryOffset;
}

/**
 * A typed view of a tensor's bytes on the wasm heap: Int32Array for int32 tensors, else Float32Array.
 * Create views only after every allocation of the call (an allocation may grow, and so detach, the heap).
 *
 * @param kernel names the kernel in the error raised when the tensor is not on the wasm backend
 */
export function wasmView(be: WasmBackendLike, t: tf.TensorInfo, kernel = 'wasm kernel'): Float32Array | Int32Array {
  const rec = be.dataIdMap.get(t.dataId);
  if (rec == null) throw new Error(`${kernel}: tensor data not found on the wasm backend (shape [${t.shape}])`);
  const n = tf.util.sizeFromShape(t.shape);
  const buf = be.wasm.HEAPU8.buffer;
  return t.dtype === 'int32' ? new Int32Array(buf, rec.memoryOffset, n) : new Float32Array(buf, rec.memoryOffset, n);
}

/**
 * The named kernel inputs, in `names` order, checked to be present and float32 (the ops cast;
 * direct runKernel callers must too).
 *
 * @param kernel names the kernel in the errors
 */
export function float32Inputs(kernel: string, inputs: tf.NamedTensorInfoMap, names: readonly string[]): tf.TensorInfo[] {
  return names.map((n) => {
    const t = inputs[n];
    if (t == null) throw new Error(`${kernel}: missing input '${n}'`);
    if (t.dtype !== 'float32') throw new Error(`${kernel}: input '${n}' must be float32, got ${t.dtype}`);
    return t;
  });
}

/**
 * A kernel for 'cpu' and one for 'wasm' that run the same `body` on Float32Arrays: the checked inputs
 * (the cpu backend's arrays, or views of the wasm heap) and fresh float32 outputs of `outShapes`
 * (zero-filled on cpu; on wasm, heap outputs that `body` must fill). A kernel with one output shape
 * returns that output alone (runKernel then gives a tensor), otherwise the array (runKernel gives an array).
 *
 * @param kernel    kernel name (for errors)
 * @param names     input names, in the order `body` gets them
 * @param outShapes output shapes from the checked inputs
 * @param body      computes the outputs; `infos` are the inputs' TensorInfos (shapes)
 */
export function cpuWasmKernels(
  kernel: string, names: readonly string[], outShapes: (infos: tf.TensorInfo[]) => number[][],
  body: (ins: Float32Array[], outs: Float32Array[], infos: tf.TensorInfo[]) => void,
): { cpu: tf.KernelFunc; wasm: tf.KernelFunc } {
  const result = (outs: tf.TensorInfo[]): tf.TensorInfo | tf.TensorInfo[] => (outs.length === 1 ? outs[0] : outs);
  return {
    cpu: ({ inputs, backend }) => {
      const be = backend as unknown as CpuBackendLike;
      const infos = float32Inputs(kernel, inputs, names);
      const shapes = outShapes(infos);
      const outs = shapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
      body(infos.map((t) => be.readSync(t.dataId) as Float32Array), outs, infos);
      return result(outs.map((v, i) => be.makeTensorInfo(shapes[i], 'float32', v)));
    },
    wasm: ({ inputs, backend }) => {
      const be = backend as unknown as WasmBackendLike;
      const infos = float32Inputs(kernel, inputs, names);
      const outs = outShapes(infos).map((s) => be.makeOutput(s, 'float32')); // may grow the heap: before the views
      const view = (t: tf.TensorInfo): Float32Array => wasmView(be, t, kernel) as Float32Array;
      body(infos.map(view), outs.map(view), infos);
      return result(outs);
    },
  };
}

/** Whether the active backend has `kernelName` registered (ops that use a kernel where there is one, else tf ops). */
export function activeBackendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) != null;
}

/** Registers `kernelFunc` for (kernelName, backendName) unless some kernel already is. */
export function registerOnce(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, backendName) == null) tf.registerKernel({ kernelName, backendName, kernelFunc });
}
