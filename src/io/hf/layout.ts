/**
 * Between checkpoint tensors (torch layout) and our weights (tfjs layout). The names are the same; only
 * three kinds of tensors change layout:
 *   linear weights  torch (out, in)     ↔ tfjs kernel (in, out)    — a transpose
 *   conv1d.weight   torch (ED, 1, K)    ↔ ours (K, ED)             — a reshape and a transpose
 *   everything else unchanged.
 * And two names have aliases: the original layout's `backbone.embedding.weight` is our
 * `backbone.embeddings.weight`, and `lm_head.weight` is the tied embedding (dropped on load) unless the model has
 * an untied head (tie_word_embeddings false), which keeps torch's (V, D) layout.
 */
import { transpose2d } from '../../ops/kernels/js/arrays';

const LINEAR = /\.(in_proj|x_proj|dt_proj|out_proj)\.weight$/;
const CONV = /\.conv1d\.weight$/;

/** The head's key; our untied head weight has the same name and layout (V, D). */
export const HEAD_KEY = 'lm_head.weight';

/**
 * Our weight name for a checkpoint key, or null when the key has no weight of its own: `lm_head.weight` of a
 * model that ties its head (matchKeys keeps it for an untied one).
 */
export function ourName(key: string): string | null {
  if (key === HEAD_KEY) return null;
  if (key === 'backbone.embedding.weight') return 'backbone.embeddings.weight';
  return key;
}

/** A new row-major (c, r) matrix: the transpose of `src` (r, c). */
function transposed(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  transpose2d(src, rows, cols, out);
  return out;
}

/** The torch-layout shape of our weight (the inverse of toOurs' shape change). */
export function torchShape(name: string, ourShape: number[]): number[] {
  if (LINEAR.test(name)) return [ourShape[1], ourShape[0]];
  if (CONV.test(name)) return [ourShape[1], 1, ourShape[0]];
  return ourShape;
}

/** A checkpoint tensor in torch layout → our layout. `shape` is the torch shape. */
export function toOurs(name: string, data: Float32Array, shape: number[]): { data: Float32Array; shape: number[] } {
  if (LINEAR.test(name)) {
    if (shape.length !== 2) throw new Error(`${name}: expected a 2-d linear weight, got shape [${shape}]`);
    return { data: transposed(data, shape[0], shape[1]), shape: [shape[1], shape[0]] };
  }
  if (CONV.test(name)) {
    if (shape.length !== 3 || shape[1] !== 1) throw new Error(`${name}: expected a conv weight of shape (ED, 1, K), got [${shape}]`);
    return { data: transposed(data, shape[0], shape[2]), shape: [shape[2], shape[0]] };
  }
  return { data, shape };
}

/** Our weight → torch layout, for export. `shape` is our shape. */
export function toTorch(name: string, data: Float32Array, shape: number[]): { data: Float32Array; shape: number[] } {
  if (LINEAR.test(name)) return { data: transposed(data, shape[0], shape[1]), shape: [shape[1], shape[0]] };
  if (CONV.test(name)) return { data: transposed(data, shape[0], shape[1]), shape: [shape[1], 1, shape[0]] };
  return { data, shape };
}
