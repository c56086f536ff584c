/**
 * int8 weight-only quantization, the layer side: which weights an int8 model stores as int8 (in_proj, x_proj,
 * dt_proj, out_proj, the embedding and an untied head), their stored shapes, and the projection that runs either
 * kind of weight.
 *
 * Shape letters: I inputs, O outputs, V padded vocabulary, D model width, RB = I rounded up to 4 (bytes per row).
 *
 * Storage: a quantized weight `…weight` becomes an int32 tensor (O, RB/4) whose bytes are the int8 rows (4 per
 * word, little-endian: the weight file holds exactly the int8 matrix, rows zero-padded to RB) and a float32
 * `…weight_scale` (O), one scale per output row (see ops/kernels/js/int8Math.ts). The rows are torch's layout
 * (O, I), not the tfjs kernel's (I, O): each output is then a dot product over one contiguous row.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { linear } from '../ops/linear/linear';
import { int8Linear } from '../ops/linear/int8';
import { int8RowBytes, quantizeKernel, quantizeMatrix, type Int8Rows } from '../ops/kernels/js/int8Math';

/** Stored weight type of a Mamba model's large matrices. */
export type WeightDtype = 'float32' | 'int8';

/** Suffix of a quantized weight's scales: `in_proj.weight` → `in_proj.weight_scale`. */
export const INT8_SCALE_SUFFIX = '_scale';

const KERNEL = /\.(in_proj|x_proj|dt_proj|out_proj)\.weight$/;
const ROWS = /^(backbone\.embeddings\.weight|lm_head\.weight)$/;

/**
 * How the float weight `name` is laid out when an int8 model quantizes it: 'kernel' (I, O) (a tfjs kernel, rows
 * are its columns), 'rows' (V, D) (embedding, head), or null (kept float32).
 */
export function int8Layout(name: string): 'kernel' | 'rows' | null {
  if (KERNEL.test(name)) return 'kernel';
  if (ROWS.test(name)) return 'rows';
  return null;
}

/** The stored int8 shape of O rows of I values: (O, RB/4) int32 words. */
export function int8Shape(o: number, i: number): [number, number] {
  return [o, int8RowBytes(i) / 4];
}

/** One weight of a model's weight list, with its stored dtype (float32 when absent). */
export interface TypedWeightShape {
  /** The weight's name (a checkpoint key; `…weight_scale` for int8 scales). */
  name: string;
  /** Its stored shape (tfjs layout; int8 words (O, RB/4)). */
  shape: number[];
  /** 'int32' for int8 words, else float32. */
  dtype?: 'float32' | 'int32';
}

/**
 * The weight list of the int8 model from the float model's (tfjs-layout shapes, in order): each quantized weight
 * becomes its int8 words (O, RB/4) int32, followed by its scales (O).
 */
export function int8WeightShapes(plan: { name: string; shape: number[] }[]): TypedWeightShape[] {
  return plan.flatMap((w): TypedWeightShape[] => {
    const layout = int8Layout(w.name);
    if (!layout) return [w];
    const [o, i] = layout === 'kernel' ? [w.shape[1], w.shape[0]] : [w.shape[0], w.shape[1]];
    return [{ name: w.name, shape: int8Shape(o, i), dtype: 'int32' }, { name: w.name + INT8_SCALE_SUFFIX, shape: [o] }];
  });
}

/** A projection's weights: the float kernel (I, O), or the int8 words (O, RB/4) with their scales (O). */
export interface ProjectionWeights {
  /** The float kernel (I, O), or the int8 words (O, RB/4). */
  kernel: LayerVariable;
  /** The int8 row scales (O), or null for a float kernel. */
  scale: LayerVariable | null;
}

/** x (B, L, I) through a projection of either kind [+ bias (O)] → (B, L, O). */
export function project(x: tf.Tensor, w: ProjectionWeights, bias?: LayerVariable | null): tf.Tensor {
  return w.scale ? int8Linear(x, w.kernel.read(), w.scale.read(), bias?.read()) : linear(x, w.kernel.read(), bias?.read());
}

/**
 * Quantizes the float weight `name` (tfjs layout: a kernel (I, O) or rows (V, D), see {@link int8Layout}) by rows.
 * @throws Error naming the weight when it is not one an int8 model quantizes
 */
export function quantizeWeight(name: string, data: Float32Array, shape: number[]): Int8Rows {
  const layout = int8Layout(name);
  if (!layout || shape.length !== 2) throw new Error(`quantizeWeight: expected a projection, embedding or head weight (2-d), got "${name}" [${shape}]`);
  return layout === 'kernel' ? quantizeKernel(data, shape[0], shape[1]) : quantizeMatrix(data, shape[0], shape[1]);
}
