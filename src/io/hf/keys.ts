/**
 * matchKeys: check a checkpoint's tensors against the weights a model needs, by name and shape,
 * before anything is read. Shared by loadCheckpoint, convert and export-hf.
 */
import { HEAD_KEY, ourName, torchShape } from './layout';
import { capList } from '../describeValue';

/** What matchKeys needs to know of a tensor source: its keys, their stored shapes, and where they live. */
export interface KeyedShapes {
  /** Every tensor key, in file order. */
  keys(): string[];
  /** The stored shape of a key. */
  shape(key: string): number[];
  /** Which file holds the key (for messages). */
  fileOf(key: string): string;
  /** The stored element type of a key, where the source knows it (checkpoints: F32, BF16, I64, ...). */
  dtype?(key: string): string;
}

/** Element types a weight may be stored as: floats only (integers or booleans as weights are a wrong file). */
export const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** A model weight: our name and our (tfjs-layout) shape. */
export interface WeightShape {
  name: string;
  shape: number[];
}

/**
 * Check a source's keys against the model's weights: every weight present once, nothing unknown,
 * shapes equal. Keys without a weight of their own (`lm_head.weight` when the model ties its head) are skipped.
 *
 * @param storedShape the shape a weight has in the source, from our name and shape: the torch layout
 *   by default (checkpoints); pass `(_n, s) => s` for sources in tfjs layout (a tfjs model directory)
 * @returns our name → source key
 * @throws Error naming the key and file on an unexpected key, a duplicate, a shape mismatch; or
 *   listing every missing weight
 */
export function matchKeys(
  source: KeyedShapes,
  weights: WeightShape[],
  storedShape: (name: string, ourShape: number[]) => number[] = torchShape,
): Map<string, string> {
  const wanted = new Map(weights.map((w) => [w.name, w.shape]));
  const found = new Map<string, string>();
  for (const key of source.keys()) {
    // An untied model wants lm_head.weight; for a tied one it is a copy of the embedding, skipped.
    const name = key === HEAD_KEY && wanted.has(HEAD_KEY) ? HEAD_KEY : ourName(key);
    if (name == null) continue;
    const shape = wanted.get(name);
    if (!shape) throw new Error(`unexpected key "${key}" in ${source.fileOf(key)}: the model has no such weight`);
    if (found.has(name)) throw new Error(`key "${key}" in ${source.fileOf(key)} duplicates "${found.get(name)}"`);
    const dtype = source.dtype?.(key);
    if (dtype !== undefined && !FLOAT_DTYPES.has(dtype)) {
      throw new Error(`"${key}" in ${source.fileOf(key)} is stored as ${dtype}; expected a float weight (F32, F16, BF16 or F64)`);
    }
    const want = storedShape(name, shape);
    const got = source.shape(key);
    if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
      throw new Error(`shape mismatch for "${key}" in ${source.fileOf(key)}: expected [${want}], got [${got}]`);
    }
    found.set(name, key);
  }
  const missing = weights.filter((w) => !found.has(w.name)).map((w) => w.name);
  if (missing.length) throw new Error(`missing key${missing.length > 1 ? 's' : ''} in checkpoint: ${capList(missing)}`);
  return found;
}
