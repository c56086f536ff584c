/**
 * Gradient clipping by global norm (tf.keras's `global_clipnorm`), which tfjs optimizers lack:
 *
 *   norm = sqrt(Σ_i ‖g_i‖²)        g_i ← g_i · clipNorm / max(norm, clipNorm)
 *
 * so gradients whose global norm exceeds clipNorm are scaled to norm exactly clipNorm, and smaller ones are
 * multiplied by exactly 1 (unchanged). No value is read back to the CPU: the scale stays a tensor.
 * A non-finite norm (NaN or Inf gradients) gives NaN gradients, which a {@link NanGuard} then reports.
 */
import * as tf from '@tensorflow/tfjs-core';

/** What Optimizer.applyGradients takes: a name → gradient map, or a list of {name, tensor}. */
type VariableGradients = Parameters<tf.Optimizer['applyGradients']>[0];

/** The global norm of `grads` and the clipped gradients (new tensors, owned by the caller, like `norm`). */
export function clipGradientsByGlobalNorm(grads: tf.NamedTensorMap, clipNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  checkClipNorm(clipNorm);
  const names = Object.keys(grads);
  return tf.tidy(() => {
    if (names.length === 0) return { grads: {}, norm: tf.scalar(0) };
    const squares = names.map((n) => tf.sum(tf.square(grads[n]))); // scalars
    const norm = tf.sqrt(tf.addN(squares)) as tf.Scalar;
    const scale = tf.div(tf.scalar(clipNorm), tf.maximum(norm, tf.scalar(clipNorm))); // ≤ 1, exactly 1 below the limit
    const out: tf.NamedTensorMap = {};
    for (const n of names) out[n] = tf.mul(grads[n], scale);
    return { grads: out, norm };
  });
}

function checkClipNorm(clipNorm: number): void {
  if (typeof clipNorm !== 'number' || !Number.isFinite(clipNorm) || clipNorm <= 0) {
    throw new Error(`clipNorm: expected a positive finite number, got ${clipNorm}`);
  }
}

/** What {@link withClipNorm} adds to an optimizer. */
export interface ClipNormState {
  /** The limit on the global gradient norm. */
  clipNorm: number;
  /** The global norm (before clipping) of the last applied gradients, read from the device; null before any. */
  lastGradNorm(): number | null;
}

const CLIP = Symbol('mamba-tfjs clipNorm');

interface Clipped {
  [CLIP]?: { clipNorm: number; last: tf.Scalar | null };
}

/**
 * Makes `optimizer` clip gradients by global norm before every update, and returns it (the same instance,
 * so its class, getConfig and serialization are unchanged: a saved optimizer reloads without clipping).
 * Works with `model.compile({optimizer: withClipNorm(tf.train.adam(1e-3), 1)})` and model.fit, which update
 * through `optimizer.minimize` → `applyGradients`. Wrapping twice only changes the limit.
 */
export function withClipNorm<O extends tf.Optimizer>(optimizer: O, clipNorm: number): O & ClipNormState {
  checkClipNorm(clipNorm);
  if (!(optimizer instanceof tf.Optimizer)) throw new Error(`withClipNorm: expected a tf.Optimizer, got ${String(optimizer)}`);
  const o = optimizer as O & Clipped & ClipNormState;
  if (o[CLIP]) {
    o[CLIP].clipNorm = clipNorm;
    return o;
  }
  const state = { clipNorm, last: null as tf.Scalar | null };
  o[CLIP] = state;
  const apply = optimizer.applyGradients.bind(optimizer);
  const dispose = optimizer.dispose.bind(optimizer);
  o.applyGradients = (variableGradients: VariableGradients): void => {
    const map: tf.NamedTensorMap = Array.isArray(variableGradients)
      ? Object.fromEntries(variableGradients.map((g) => [g.name, g.tensor]))
      : variableGradients;
    const { grads, norm } = clipGradientsByGlobalNorm(map, state.clipNorm);
    try {
      apply(grads);
    } finally {
      tf.dispose(grads);
      state.last?.dispose();
      state.last = tf.keep(norm); // fit runs each step inside a tidy: keep the norm past it
    }
  };
  o.dispose = (): void => {
    state.last?.dispose();
    state.last = null;
    dispose();
  };
  Object.defineProperty(o, 'clipNorm', { get: () => state.clipNorm, set: (v: number) => { checkClipNorm(v); state.clipNorm = v; }, enumerable: false, configurable: true });
  o.lastGradNorm = (): number | null => (state.last === null ? null : state.last.dataSync()[0]);
  return o;
}
