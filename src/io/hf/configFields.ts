/**
 * Typed, range-checked reads of config.json fields, shared by the Mamba and Mamba-2 config readers. Errors name
 * the file, the key, what was expected and what came.
 */
import { describe } from '../describeValue';

export type Json = Record<string, unknown>;

/** Largest value accepted for any size or count (a sanity bound, far above every real Mamba config). */
export const MAX_CONFIG_INT = 2 ** 24;

/** The value of `key`, or `fallback` when it is absent or null. */
function valueOr(c: Json, key: string, fallback: unknown): unknown {
  return c[key] ?? fallback;
}

/** A positive integer no larger than {@link MAX_CONFIG_INT}. */
export function int(c: Json, key: string, file: string, fallback?: number): number {
  const v = valueOr(c, key, fallback);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_CONFIG_INT) {
    throw new Error(`${file}: expected "${key}" to be an integer in [1, ${MAX_CONFIG_INT}], got ${describe(c[key])}`);
  }
  return v;
}

/** A positive finite number (epsilons). */
export function positive(c: Json, key: string, file: string, fallback: number): number {
  const v = valueOr(c, key, fallback);
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`${file}: expected "${key}" to be a positive number, got ${describe(c[key])}`);
  }
  return v;
}

export function bool(c: Json, key: string, file: string, fallback: boolean): boolean {
  const v = valueOr(c, key, fallback);
  if (typeof v !== 'boolean') throw new Error(`${file}: expected "${key}" to be true or false, got ${describe(c[key])}`);
  return v;
}

/** Whether a parsed config.json describes a Mamba-2 model (-hf model_type mamba2, or the original ssm_cfg.layer). */
export function isMamba2Config(c: Json): boolean {
  const ssm = c.ssm_cfg;
  return c.model_type === 'mamba2' || (ssm != null && typeof ssm === 'object' && (ssm as Json).layer === 'Mamba2');
}
