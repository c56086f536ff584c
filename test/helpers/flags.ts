/**
 * Setting a mamba-tfjs flag (src/flags.ts) as its environment variable would: the variable is the flag's
 * default, and tfjs caches a flag once read, so the cached value is dropped to re-read the variable.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Sets (or, with undefined, unsets) the environment variable `name` and makes flag `name` re-read it. */
export function setEnvFlag(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  delete (tf.env() as unknown as { flags: Record<string, unknown> }).flags[name];
}
