/**
 * The int8 side of `convertCheckpoint(..., {dtype: 'int8'})`: the stored weight list of the int8 model and each
 * entry's bytes, streamed — one float32 tensor in memory at a time, never the model.
 *
 * Shape letters: I inputs, O outputs, V vocabulary, D model width, RB = I rounded up to 4.
 *
 * The quantized weights (layers/int8.ts) are read in torch layout, which is already rows (O, I) — linear weights
 * (out, in), the embedding and head (V, D) — so no transpose is made: quantized by rows, written as words
 * (O, RB/4) int32, then their scales (O). Every other weight goes through `plain` (float32 in tfjs layout).
 */
import { INT8_SCALE_SUFFIX, int8Layout, int8WeightShapes, type TypedWeightShape } from '../../layers/int8';
import { quantizeMatrix } from '../../ops/kernels/js/int8Math';
import type { WeightShape } from './keys';

/** The int8 model's stored weights and how to produce their bytes, in order. */
export interface Int8Stored {
  /** Stored specs (name, shape, dtype), in file order. */
  specs: TypedWeightShape[];
  /** Byte size of each. */
  sizes: number[];
  /** Entry j's bytes; call in order (a scale follows its weight, which computed it). */
  bytes(j: number): Promise<Uint8Array>;
  /** The float weight (index into the float plan) entry j comes from. */
  floatIndex: number[];
}

const asBytes = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * @param weights the float model's weights (tfjs layout), as convert plans them
 * @param readTorch float weight i's values and shape in the checkpoint's (torch) layout
 * @param plain float weight i's stored float32 bytes (tfjs layout), for the weights kept float32
 */
export function int8Stored(
  weights: WeightShape[],
  readTorch: (i: number) => Promise<{ data: Float32Array; shape: number[] }>,
  plain: (i: number) => Promise<Uint8Array>,
): Int8Stored {
  const specs = int8WeightShapes(weights);
  const floatIndex: number[] = [];
  weights.forEach((w, i) => floatIndex.push(...(int8Layout(w.name) ? [i, i] : [i])));
  let pending: { name: string; scale: Float32Array } | null = null;
  return {
    specs,
    floatIndex,
    sizes: specs.map((s) => 4 * s.shape.reduce((a, b) => a * b, 1)),
    async bytes(j) {
      const spec = specs[j];
      const i = floatIndex[j];
      if (spec.dtype === 'int32') {
        const { data, shape } = await readTorch(i);
        const [o, words] = spec.shape;
        if (shape.length !== 2 || shape[0] !== o || Math.ceil(shape[1] / 4) !== words) {
          throw new Error(`int8 convert: "${spec.name}" expected rows (${o}, ${words * 4 - 3}..${words * 4}) in torch layout, got [${shape}]`);
        }
        const { q, scale } = quantizeMatrix(data, shape[0], shape[1]);
        pending = { name: spec.name + INT8_SCALE_SUFFIX, scale };
        return asBytes(q);
      }
      if (pending && pending.name === spec.name) {
        const { scale } = pending;
        pending = null;
        return asBytes(scale);
      }
      return plain(i);
    },
  };
}
