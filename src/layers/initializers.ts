/**
 * The paper's initial values (mamba.py / mamba_ssm), as tfjs-layers Initializers.
 *
 * Shape letters: D model width, ED inner channels, N state size, R Δ rank, K conv width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initializers } from '@tensorflow/tfjs-layers';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers';

/** An Initializer made from a function of the shape (not serialized: layers store their config, not this). */
class FunctionInitializer extends (initializers.zeros().constructor as unknown as { new (): Initializer }) {
  static className = 'MambaFunctionInitializer';
  constructor(private readonly fn: (shape: number[]) => tf.Tensor) {
    super();
  }
  apply(shape: number[]): tf.Tensor {
    return this.fn(shape);
  }
}

/** A small seed stream: each weight gets its own seed derived from the layer's. */
export class SeedStream {
  private next: number;
  constructor(seed: number | undefined) {
    this.next = seed ?? Math.floor(Math.random() * 2 ** 31);
  }
  take(): number {
    this.next = (Math.imul(this.next, 1103515245) + 12345) >>> 1;
    return this.next;
  }
}

/** torch nn.Linear / nn.Conv1d default: U(±1/√fanIn). */
export function uniformFanIn(fanIn: number, seeds: SeedStream): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return new FunctionInitializer((shape) => tf.randomUniform(shape, -bound, bound, 'float32', seeds.take()));
}

/** U(±bound). */
export function uniform(bound: number, seeds: SeedStream): Initializer {
  return new FunctionInitializer((shape) => tf.randomUniform(shape, -bound, bound, 'float32', seeds.take()));
}

/** A constant. */
export function constant(value: number): Initializer {
  // tf.zeros leaves fresh memory untouched on the cpu backend (tf.fill writes every element).
  return new FunctionInitializer((shape) => (value === 0 ? tf.zeros(shape) : tf.fill(shape, value)));
}

/** N(0, std). */
export function normal(std: number, seeds: SeedStream): Initializer {
  return new FunctionInitializer((shape) => tf.randomNormal(shape, 0, std, 'float32', seeds.take()));
}

/** A_log = log(1..N) on every row: shape (ED, N). */
export function aLogInit(): Initializer {
  return new FunctionInitializer(([ed, n]) =>
    tf.tidy(() => tf.tile(tf.reshape(tf.log(tf.range(1, n + 1, 1, 'float32')), [1, n]), [ed, 1])), // (ED, N)
  );
}

/**
 * dt_proj's bias: Δ drawn log-uniform in [dtMin, dtMax], floored at dtInitFloor, stored as its inverse
 * softplus so that softplus(bias) = Δ at initialization.
 */
export function dtBiasInit(dtMin: number, dtMax: number, floor: number, seeds: SeedStream): Initializer {
  return new FunctionInitializer((shape) =>
    tf.tidy(() => {
      const u = tf.randomUniform(shape, 0, 1, 'float32', seeds.take()); // (ED)
      const dt = tf.maximum(tf.exp(tf.add(tf.mul(u, Math.log(dtMax) - Math.log(dtMin)), Math.log(dtMin))), floor); // (ED)
      return tf.add(dt, tf.log(tf.neg(tf.expm1(tf.neg(dt))))); // (ED) inverse softplus
    }),
  );
}

/** Mamba-2's A_log: log(1..H), one per head, shape (H). */
export function headALogInit(): Initializer {
  return new FunctionInitializer(([h]) => tf.log(tf.range(1, h + 1, 1, 'float32'))); // (H)
}
