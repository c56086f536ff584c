/**
 * FlatAdam: Adam with the arithmetic of tf.train.adam, run once over all variables laid end to end.
 *
 * Shape letters: S total number of parameters (the sizes of all updated variables, summed).
 *
 * Why: tf.train.adam runs about a dozen kernels per variable; a Mamba stack has 10–12 variables per layer, so
 * on webgpu, where every kernel is a dispatch, the update of Mamba(256, 4) took more time than its backward pass
 * (benchmarks/webgpuTrain.js). Here the gradients and the values are each concatenated into one (S) vector, the
 * moments live in two (S) variables, the update is the same dozen kernels on (S), and the new values are sliced
 * back: about 2 kernels per variable plus a constant. On webgpu the update itself is one dispatch (MambaAdamStep,
 * ../ops/kernels/webgpu/adam.ts), its numbers passed as uniforms: as tf ops, each JS number is a scalar tensor that
 * tfjs-webgpu uploads into a new GPU buffer every step.
 *
 * Same update as tf.train.adam (tfjs 4.22): with accBeta_i = beta_i^t,
 *   m = b1 m + (1 − b1) g,  v = b2 v + (1 − b2) g²,  w += −lr · (m / (1 − accBeta1)) / (√(v / (1 − accBeta2)) + eps).
 * Every call must update the same variables, in the same order and shapes (model.fit and a fixed var list do);
 * the state is matched by position, as tf.train.adam restores its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_STEP_KERNEL } from '../ops/kernels/names';
import { ADAM_MAX_SIZE } from '../ops/kernels/webgpu/adam';
import { activeBackendHas } from '../ops/kernels/kernelIO';
/** tfjs-core's NamedTensor (not exported from its entry). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** Tensors laid end to end as one vector. */
const flatten = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1]))); // (S)

interface Slot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Adam with tf.train.adam's arithmetic, run once over all variables laid end to end (see the file's header). */
export class FlatAdam extends tf.Optimizer {
  /** Name under which tfjs serializes the optimizer. */
  static className = 'FlatAdam';
  /** Step size. */
  readonly learningRate: number;
  /** Decay of the first moment. */
  readonly beta1: number;
  /** Decay of the second moment. */
  readonly beta2: number;
  /** Added to the root of the second moment. */
  readonly epsilon: number;
  private slots: Slot[] | null = null;
  private m: tf.Variable | null = null; // (S)
  private v: tf.Variable | null = null; // (S)
  private accBeta1: tf.Variable | null = null; // ()
  private accBeta2: tf.Variable | null = null; // ()
  /**
   * accBeta1, accBeta2 as host numbers (each product rounded to float32, as the variables hold them): the webgpu step
   * kernel reads them from here, and leaves the variables behind (accStale) until the tf-op path needs them.
   */
  private accHost: [number, number] = [0, 0];
  private accStale = false;

  constructor(learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null) {
    super();
    if (!Number.isFinite(learningRate) || learningRate < 0) throw new Error(`FlatAdam: expected learningRate a finite number >= 0, got ${learningRate}`);
    for (const [k, v] of Object.entries({ beta1, beta2 })) {
      if (!(v >= 0 && v < 1)) throw new Error(`FlatAdam: expected ${k} in [0, 1), got ${v}`);
    }
    if (epsilon != null && !(Number.isFinite(epsilon) && epsilon >= 0)) throw new Error(`FlatAdam: expected epsilon a finite number >= 0, got ${epsilon}`);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon ?? tf.backend().epsilon();
  }

  /** The (scalar) beta_i^(t+1) variables for the current iteration count. */
  private makeAccBetas(): void {
    this.accHost = [Math.fround(this.beta1 ** (this.iterations + 1)), Math.fround(this.beta2 ** (this.iterations + 1))];
    this.syncAccVariables();
  }

  /** (Re)makes the accBeta variables from accHost. */
  private syncAccVariables(): void {
    tf.dispose([this.accBeta1, this.accBeta2].filter((t): t is tf.Variable => t != null));
    tf.tidy(() => {
      this.accBeta1 = tf.variable(tf.scalar(this.accHost[0]), false); // ()
      this.accBeta2 = tf.variable(tf.scalar(this.accHost[1]), false); // ()
    });
    this.accStale = false;
  }

  /** accBeta_i · beta_i on the host, rounded as the float32 product of the variables is. */
  private advanceAccHost(): void {
    this.accHost = [Math.fround(this.accHost[0] * Math.fround(this.beta1)), Math.fround(this.accHost[1] * Math.fround(this.beta2))];
  }

  /**
   * The slot layout: made on the first update, checked on every later one. Slots are matched by position and
   * shape, not by name (as tf.train.adam restores its state), so a model reloaded under new variable names resumes.
   */
  private layout(names: string[], grads: tf.Tensor[]): Slot[] {
    if (this.slots == null) {
      let offset = 0;
      this.slots = names.map((name, i) => {
        const slot = { name, shape: grads[i].shape.slice(), offset, size: grads[i].size };
        offset += slot.size;
        return slot;
      });
      tf.tidy(() => {
        this.m = tf.variable(tf.zeros([offset]), false); // (S)
        this.v = tf.variable(tf.zeros([offset]), false); // (S)
      });
      this.makeAccBetas();
    }
    const slots = this.slots;
    const same = slots.length === names.length && slots.every((s, i) => s.size === grads[i].size && s.shape.every((d, j) => d === grads[i].shape[j]));
    if (!same) {
      const fmt = (xs: { name: string; shape: number[] }[]) => xs.map((x) => `${x.name} [${x.shape}]`).join(', ');
      throw new Error(`FlatAdam: expected the same variables on every update, first (${fmt(slots)}), now (${fmt(names.map((name, i) => ({ name, shape: grads[i].shape })))})`);
    }
    return slots;
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const items = Array.isArray(variableGradients)
      ? variableGradients.map((v) => ({ name: v.name, grad: v.tensor }))
      : Object.keys(variableGradients).map((name) => ({ name, grad: variableGradients[name] }));
    const present = items.filter((it) => it.grad != null);
    if (present.length === 0) {
      // As tf.train.adam: no variable moves, but the step counts (its bias corrections advance).
      if (this.accBeta1 && this.accBeta2) {
        this.advanceAccHost();
        this.accStale = true;
      }
      this.incrementIterations();
      return;
    }
    const registered = tf.engine().registeredVariables;
    const vars = present.map((it) => {
      const v = registered[it.name];
      if (v == null) throw new Error(`FlatAdam: no variable named '${it.name}' is registered`);
      return v;
    });
    const slots = this.layout(present.map((it) => it.name), present.map((it) => it.grad));
    const size = slots.reduce((a, sl) => a + sl.size, 0);
    if (activeBackendHas(ADAM_STEP_KERNEL) && size <= ADAM_MAX_SIZE) {
      this.kernelStep(present.map((it) => it.grad), vars, slots, size);
      this.incrementIterations();
      return;
    }
    if (this.accStale) this.syncAccVariables();
    const [m, v, acc1, acc2] = [this.m, this.v, this.accBeta1, this.accBeta2] as tf.Variable[];
    tf.tidy(() => {
      const g = flatten(present.map((it) => it.grad)); // (S)
      const m2 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)); // (S)
      const v2 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)); // (S)
      const mHat = tf.div(m2, tf.sub(1, acc1)); // (S)
      const vHat = tf.div(v2, tf.sub(1, acc2)); // (S)
      const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate); // (S)
      const values = tf.add(flatten(vars), step); // (S)
      m.assign(m2);
      v.assign(v2);
      slots.forEach((s, i) => vars[i].assign(tf.reshape(tf.slice(values, [s.offset], [s.size]), s.shape))); // (shape)
      acc1.assign(tf.mul(acc1, this.beta1));
      acc2.assign(tf.mul(acc2, this.beta2));
    });
    this.advanceAccHost();
    this.incrementIterations();
  }

  /**
   * The same update as one MambaAdamStep dispatch (webgpu: ../ops/kernels/webgpu/adam.ts), its numbers passed as
   * uniforms rather than as scalar tensors uploaded every step; the accBeta variables are left behind (accStale).
   */
  private kernelStep(grads: tf.Tensor[], vars: tf.Variable[], slots: Slot[], size: number): void {
    const [m, v] = [this.m, this.v] as tf.Variable[];
    const f = Math.fround;
    const attrs = {
      b1: this.beta1, b2: this.beta2, oneMinusB1: 1 - this.beta1, oneMinusB2: 1 - this.beta2,
      oneMinusAcc1: f(1 - this.accHost[0]), oneMinusAcc2: f(1 - this.accHost[1]), eps: this.epsilon, negLr: -this.learningRate,
    };
    tf.tidy(() => {
      const inputs = { g: flatten(grads), m, v, p: flatten(vars) }; // (S) each
      const out = tf.engine().runKernel(ADAM_STEP_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs) as tf.Tensor; // (3S)
      m.assign(tf.slice(out, [0], [size]));
      v.assign(tf.slice(out, [size], [size]));
      slots.forEach((s, i) => vars[i].assign(tf.reshape(tf.slice(out, [2 * size + s.offset], [s.size]), s.shape))); // (shape)
    });
    this.advanceAccHost();
    this.accStale = true;
  }

  override dispose(): void {
    tf.dispose([this.m, this.v, this.accBeta1, this.accBeta2].filter((t): t is tf.Variable => t != null));
    this.m = this.v = this.accBeta1 = this.accBeta2 = null;
    this.slots = null;
  }

  /** The state setWeights needs to resume: iterations, the layout (as JSON bytes), m and v. */
  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [await this.saveIterations()];
    if (this.slots && this.m && this.v) {
      const layout = new TextEncoder().encode(JSON.stringify(this.slots));
      out.push({ name: 'flat_adam/layout', tensor: tf.tensor1d(Array.from(layout), 'int32') });
      out.push({ name: 'flat_adam/m', tensor: this.m }, { name: 'flat_adam/v', tensor: this.v });
    }
    return out;
  }

  /** Restores the state getWeights returned (iterations, layout, m, v). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const byName = new Map(rest.map((w) => [w.name, w.tensor]));
    const layout = byName.get('flat_adam/layout');
    const m = byName.get('flat_adam/m');
    const v = byName.get('flat_adam/v');
    if (rest.length > 0 && (!layout || !m || !v)) throw new Error(`FlatAdam.setWeights: expected flat_adam/layout, /m and /v, got [${rest.map((w) => w.name)}]`);
    let slots: Slot[] | null = null;
    let moments: tf.Variable[] = [];
    if (layout && m && v) {
      slots = JSON.parse(new TextDecoder().decode(Uint8Array.from(await layout.data()))) as Slot[];
      const total = slots.reduce((a, s) => a + s.size, 0);
      if (m.size !== total || v.size !== total) throw new Error(`FlatAdam.setWeights: expected moments of size ${total}, got ${m.size} and ${v.size}`);
      // New variables before the old ones go: `weightValues` may be this optimizer's own (getWeights → setWeights).
      moments = tf.tidy(() => [tf.variable(tf.reshape(m, [total]).clone(), false), tf.variable(tf.reshape(v, [total]).clone(), false)]); // (S) each
    }
    this.dispose();
    if (slots == null) return;
    this.slots = slots;
    [this.m, this.v] = moments;
    this.makeAccBetas();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new (cls as unknown as typeof FlatAdam)(config.learningRate as number, config.beta1 as number, config.beta2 as number, config.epsilon as number) as unknown as T;
  }
}
tf.serialization.registerClass(FlatAdam);

/** A FlatAdam optimizer (same arguments as tf.train.adam). */
export function flatAdam(learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): FlatAdam {
  return new FlatAdam(learningRate, beta1, beta2, epsilon);
}
