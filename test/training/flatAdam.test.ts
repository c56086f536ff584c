/**
 * FlatAdam (src/training/flatAdam.ts), Adam run once over all variables laid end to end, against
 * tf.train.adam with the same arguments on the 'cpu' and 'wasm' backends: the variables after 25 minimize
 * steps (a scalar, a vector, a matrix and a 3-D variable; default and non-default lr / beta1 / beta2 /
 * epsilon), resuming from getWeights → setWeights in a fresh optimizer, the error for a changed variable
 * set, constructor checks, getConfig / fromConfig through tf.serialization's SerializationMap,
 * model.compile + model.fit, null gradients, and tensor counts across steps and after dispose().
 *
 * Shapes are named in the comments.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { FlatAdam, flatAdam } from '../../src/training/flatAdam';
import { expectRelClose } from '../helpers/close';
import { onBackend } from '../helpers/backends';
import { rng, uniformArray } from '../helpers/random';

tf.env().set('IS_TEST', true); // silence the "use tfjs-node" banner

/** The test variables: a scalar, a vector, a matrix and a 3-D one. */
const SHAPES: Record<string, number[]> = { s: [], v: [7], m: [4, 5], t: [2, 3, 6] };
const KEYS = Object.keys(SHAPES);

/** Initial values and the constants of the loss, drawn once from a seed. */
interface Problem {
  init: Record<string, Float32Array>;
  a: Float32Array; // (7)
  b: Float32Array; // (4, 5)
  c: Float32Array; // (2, 3, 6)
}

function makeProblem(seed: number): Problem {
  const r = rng(seed);
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const init = Object.fromEntries(KEYS.map((k) => [k, uniformArray(r, size(SHAPES[k]), -1, 1)]));
  return { init, a: uniformArray(r, 7, -1, 1), b: uniformArray(r, 20, -2, 2), c: uniformArray(r, 36, 0.1, 1) };
}

let uid = 0;
/** Fresh variables with the problem's initial values, named `<prefix><key>`. */
function makeVars(p: Problem, prefix = `fa${uid++}/`): Record<string, tf.Variable> {
  return Object.fromEntries(KEYS.map((k) => [k, tf.variable(tf.tensor(p.init[k], SHAPES[k]), true, `${prefix}${k}`)])); // (shape)
}

/**
 * A smooth loss coupling every variable, with gradients of different scales:
 * s² Σv + Σ(v − a)² + Σ sin(m) b + Σ t² c + s Σt + Σ (m @ v[0:5])².
 */
function loss(p: Problem, vs: Record<string, tf.Variable>): tf.Scalar {
  return tf.tidy(() => {
    const { s, v, m, t } = vs;
    const a = tf.tensor1d(p.a); // (7)
    const b = tf.tensor2d(p.b, [4, 5]); // (4, 5)
    const c = tf.tensor3d(p.c, [2, 3, 6]); // (2, 3, 6)
    const mv = tf.matMul(m, tf.reshape(tf.slice(v, [0], [5]), [5, 1])); // (4, 1)
    return tf.addN([
      tf.mul(tf.square(s), tf.sum(v)), // ()
      tf.sum(tf.square(tf.sub(v, a))), // ()
      tf.sum(tf.mul(tf.sin(m), b)), // ()
      tf.sum(tf.mul(tf.square(t), c)), // ()
      tf.mul(s, tf.sum(t)), // ()
      tf.sum(tf.square(mv)), // ()
    ]) as tf.Scalar;
  });
}

/** Values of the variables, by key. */
function values(vs: Record<string, tf.Variable>): Record<string, number[]> {
  return Object.fromEntries(KEYS.map((k) => [k, Array.from(vs[k].dataSync())]));
}

/** `steps` minimize steps of `opt` on fresh variables of `p`; returns the values after each checkpoint. */
function train(opt: tf.Optimizer, p: Problem, steps: number): Record<string, number[]> {
  const vs = makeVars(p);
  const list = KEYS.map((k) => vs[k]);
  for (let i = 0; i < steps; i++) opt.minimize(() => loss(p, vs), false, list);
  const out = values(vs);
  tf.dispose(list);
  return out;
}

/** Throws unless the two sets of variable values are equal (bit for bit when atol is 0). */
function expectSameValues(got: Record<string, number[]>, want: Record<string, number[]>, rtol: number, what: string): void {
  for (const k of KEYS) {
    if (rtol === 0) expect({ what, k, values: got[k] }).toEqual({ what, k, values: want[k] });
    else expectRelClose(got[k], want[k], rtol, `${what}: ${k}`);
  }
}


/** Optimizer arguments: defaults, and non-default ones (beta1 0, a large epsilon, a large lr). */
const ARGS: [number, number, number, number | null][] = [
  [1e-3, 0.9, 0.999, null],
  [0.05, 0.8, 0.95, 1e-4],
  [0.3, 0, 0.5, 1e-2],
  [0.01, 0.99, 0.9999, 1e-8],
];

beforeAll(async () => {
  await selectBackend('wasm'); // registers the wasm backend
  await tf.setBackend('cpu');
});

for (const backend of ['cpu', 'wasm']) {
  describe(`same updates as tf.train.adam on ${backend}`, () => {
    test.each(ARGS.map((a) => [JSON.stringify(a), a] as const))('args %s: 25 steps give the same variables', async (_, args) => {
      await onBackend(backend, () => {
        const p = makeProblem(1);
        const ref = tf.train.adam(...(args as [number, number, number, number])); // tfjs types epsilon as number; null = default
        const want = train(ref, p, 25);
        const opt = flatAdam(...args);
        const got = train(opt, p, 25);
        expect(opt.iterations).toBe(25);
        // The update is the same kernels in the same order on each element: bit for bit.
        expectSameValues(got, want, 0, `${backend} ${JSON.stringify(args)}`);
        // and the variables did move
        expect(got.v).not.toEqual(Array.from(p.init.v));
        ref.dispose();
        opt.dispose();
      });
    });

    test('the default epsilon is the backend epsilon, as tf.train.adam', async () => {
      await onBackend(backend, () => {
        const opt = flatAdam();
        expect(opt.epsilon).toBe(tf.backend().epsilon());
        expect(opt.getConfig()).toEqual({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: tf.backend().epsilon() });
      });
    });

    test('getWeights → setWeights into a fresh FlatAdam, then continuing, follows the original trajectory', async () => {
      await onBackend(backend, async () => {
        const p = makeProblem(2);
        const vs = makeVars(p);
        const list = KEYS.map((k) => vs[k]);
        const f = () => loss(p, vs);
        const opt = new FlatAdam(0.05, 0.8, 0.95);
        for (let i = 0; i < 7; i++) opt.minimize(f, false, list);
        // Snapshot: the variables and the optimizer state (m and v are the optimizer's own variables: copy them).
        const at7 = values(vs);
        const weights = (await opt.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor instanceof tf.Variable ? tf.clone(w.tensor) : w.tensor }));
        expect(weights.map((w) => w.name)).toEqual(['iter', 'flat_adam/layout', 'flat_adam/m', 'flat_adam/v']);
        expect(weights[2].tensor.shape).toEqual([1 + 7 + 20 + 36]); // (S)
        // The original goes on for 10 steps.
        for (let i = 0; i < 10; i++) opt.minimize(f, false, list);
        const want = values(vs);
        // Back to the snapshot, a fresh optimizer with the saved state goes on for 10 steps.
        KEYS.forEach((k) => vs[k].assign(tf.tensor(at7[k], SHAPES[k]))); // (shape)
        const fresh = new FlatAdam(0.05, 0.8, 0.95);
        await fresh.setWeights(weights);
        expect(fresh.iterations).toBe(7);
        for (let i = 0; i < 10; i++) fresh.minimize(f, false, list);
        expect(fresh.iterations).toBe(17);
        // The bias corrections restart from beta^(t+1) rather than the running product: equal to rounding.
        expectSameValues(values(vs), want, 1e-6, 'resumed');
        // and a fresh optimizer without the state does not (the check can tell)
        KEYS.forEach((k) => vs[k].assign(tf.tensor(at7[k], SHAPES[k]))); // (shape)
        const cold = new FlatAdam(0.05, 0.8, 0.95);
        for (let i = 0; i < 10; i++) cold.minimize(f, false, list);
        expect(() => expectSameValues(values(vs), want, 1e-6, 'cold')).toThrow();
        tf.dispose([...list, ...weights.map((w) => w.tensor)]);
        [opt, fresh, cold].forEach((o) => o.dispose());
      });
    });

    test('a different variable set throws an error naming both sets, and leaves the variables alone', async () => {
      await onBackend(backend, () => {
        const p = makeProblem(3);
        const vs = makeVars(p, `set${backend}/`);
        const opt = flatAdam(0.1);
        opt.minimize(() => loss(p, vs), false, [vs.s, vs.v, vs.m, vs.t]);
        const before = values(vs);
        const other = tf.variable(tf.ones([3]), true, `other${backend}`); // (3)
        const f2 = () => tf.add(loss(p, vs), tf.sum(other)) as tf.Scalar;
        const first = `first \\(set${backend}/s \\[\\], set${backend}/v \\[7\\], set${backend}/m \\[4,5\\], set${backend}/t \\[2,3,6\\]\\)`;
        expect(() => opt.minimize(f2, false, [vs.s, vs.v, other])).toThrow(
          new RegExp(`FlatAdam: expected the same variables on every update, ${first}, now \\(set${backend}/s \\[\\], set${backend}/v \\[7\\], other${backend} \\[3\\]\\)`),
        );
        // the state is matched by position and shape: the same variables in another order are another layout
        expect(() => opt.minimize(() => loss(p, vs), false, [vs.v, vs.s, vs.m, vs.t])).toThrow(/now \(set\w+\/v \[7\], set\w+\/s \[\],/);
        expect(values(vs)).toEqual(before);
        expect(Array.from(other.dataSync())).toEqual([1, 1, 1]);
        expect(opt.iterations).toBe(1);
        tf.dispose([vs.s, vs.v, vs.m, vs.t, other]);
        opt.dispose();
      });
    });

    test('variables whose gradient is null are skipped, as tf.train.adam does', async () => {
      await onBackend(backend, () => {
        const p = makeProblem(4);
        // Through minimize: `unused` is not in the loss (variableGrads drops its null gradient).
        const run = (opt: tf.Optimizer) => {
          const vs = makeVars(p);
          const unused = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]), true); // (2, 2)
          for (let i = 0; i < 25; i++) opt.minimize(() => loss(p, vs), false, [vs.s, unused, vs.v, vs.m, vs.t]);
          const out = { ...values(vs), unused: Array.from(unused.dataSync()) };
          tf.dispose([vs.s, vs.v, vs.m, vs.t, unused]);
          opt.dispose();
          return out;
        };
        const got = run(flatAdam(0.05));
        const want = run(tf.train.adam(0.05));
        expect(got.unused).toEqual([1, 2, 3, 4]);
        expectSameValues(got, want, 0, 'with an unused variable');

        // Through applyGradients, with explicit nulls in a map and in a NamedTensor list.
        for (const asList of [false, true]) {
          const a1 = tf.variable(tf.tensor1d([0.5, -1, 2]), true); // (3)
          const b1 = tf.variable(tf.tensor1d([3, 4]), true); // (2)
          const a2 = tf.variable(tf.tensor1d([0.5, -1, 2]), true); // (3)
          const b2 = tf.variable(tf.tensor1d([3, 4]), true); // (2)
          const fl = flatAdam(0.1);
          const ad = tf.train.adam(0.1);
          for (let i = 0; i < 5; i++) {
            const g = tf.tensor1d([1, -2, 0.5 * i]); // (3)
            const grads = (a: tf.Variable, b: tf.Variable): unknown => (asList
              ? [{ name: a.name, tensor: g }, { name: b.name, tensor: null as unknown as tf.Tensor }]
              : { [a.name]: g, [b.name]: null as unknown as tf.Tensor });
            fl.applyGradients(grads(a1, b1) as Parameters<FlatAdam['applyGradients']>[0]);
            ad.applyGradients(grads(a2, b2) as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
            g.dispose();
          }
          expect(Array.from(b1.dataSync())).toEqual([3, 4]);
          expect(Array.from(a1.dataSync())).toEqual(Array.from(a2.dataSync()));
          expect(Array.from(a1.dataSync())).not.toEqual([0.5, -1, 2]);
          // only null gradients: no variable moves, but the step counts, as in tf.train.adam (its bias
          // corrections advance): the next real update equals tf.train.adam's after the same sequence.
          const it = fl.iterations;
          fl.applyGradients({ [a1.name]: null as unknown as tf.Tensor } as unknown as tf.NamedTensorMap);
          ad.applyGradients({ [a2.name]: null as unknown as tf.Variable });
          expect(fl.iterations).toBe(it + 1);
          expect(Array.from(a1.dataSync())).toEqual(Array.from(a2.dataSync()));
          const g2 = tf.tensor1d([0.3, 0.2, -0.1]); // (3)
          fl.applyGradients({ [a1.name]: g2 });
          ad.applyGradients({ [a2.name]: g2 as unknown as tf.Variable });
          g2.dispose();
          expect(Array.from(a1.dataSync())).toEqual(Array.from(a2.dataSync()));
          tf.dispose([a1, b1, a2, b2]);
          fl.dispose();
          ad.dispose();
        }
      });
    });

    test('an unknown variable name throws', async () => {
      await onBackend(backend, () => {
        const opt = flatAdam(0.1);
        const g = tf.ones([2]); // (2)
        expect(() => opt.applyGradients({ 'no/such/variable': g })).toThrow("FlatAdam: no variable named 'no/such/variable' is registered");
        g.dispose();
        opt.dispose();
      });
    });

    test('numTensors and numBytes stay flat across steps once the first step has made the state', async () => {
      await onBackend(backend, () => {
        const p = makeProblem(5);
        const vs = makeVars(p);
        const list = KEYS.map((k) => vs[k]);
        const opt = flatAdam(0.02);
        opt.minimize(() => loss(p, vs), false, list);
        const after1 = tf.memory();
        for (let i = 0; i < 10; i++) opt.minimize(() => loss(p, vs), false, list);
        expect(tf.memory().numTensors).toBe(after1.numTensors);
        expect(tf.memory().numBytes).toBe(after1.numBytes);
        // returnCost: the caller gets (and disposes) the cost
        const cost = opt.minimize(() => loss(p, vs), true, list) as tf.Scalar;
        expect(tf.memory().numTensors).toBe(after1.numTensors + 1);
        cost.dispose();
        opt.dispose();
        tf.dispose(list);
      });
    });

    // Regression: FlatAdam once made its m, v and accBeta variables outside any tidy, so their four initial
    // tensors (2·S + 2 floats) stayed after dispose().
    test('dispose() returns numTensors and numBytes to the baseline before the first step', async () => {
      await onBackend(backend, () => {
        const p = makeProblem(6);
        const vs = makeVars(p);
        const list = KEYS.map((k) => vs[k]);
        const base = tf.memory();
        const opt = flatAdam(0.02);
        for (let i = 0; i < 3; i++) opt.minimize(() => loss(p, vs), false, list);
        opt.dispose();
        expect({ numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes }).toEqual({ numTensors: base.numTensors, numBytes: base.numBytes });
        tf.dispose(list);
      });
    });
  });
}

describe('state round trip on the same optimizer', () => {
  // Regression: setWeights once disposed the optimizer's own m and v before reading the given tensors, which after
  // getWeights are those very variables. tf.train.adam accepts its own getWeights().
  test('setWeights(await getWeights()) on the same optimizer keeps its state and trajectory', async () => {
    const p = makeProblem(8);
    const vs = makeVars(p);
    const list = KEYS.map((k) => vs[k]);
    const opt = flatAdam(0.05);
    for (let i = 0; i < 3; i++) opt.minimize(() => loss(p, vs), false, list);
    await opt.setWeights(await opt.getWeights());
    expect(opt.iterations).toBe(3);
    opt.minimize(() => loss(p, vs), false, list);
    const ref = tf.train.adam(0.05);
    const want = train(ref, p, 4);
    expectSameValues(values(vs), want, 1e-6, 'after a self round trip');
    tf.dispose(list);
    opt.dispose();
    ref.dispose();
  });
});

describe('constructor and serialization', () => {
  test('bad arguments (NaN, negative, infinite) throw an error naming the argument', () => {
    const bad: [string, () => FlatAdam][] = [
      ['learningRate', () => new FlatAdam(NaN)],
      ['learningRate', () => new FlatAdam(-1e-3)],
      ['learningRate', () => new FlatAdam(Infinity)],
      ['beta1', () => new FlatAdam(1e-3, NaN)],
      ['beta1', () => new FlatAdam(1e-3, -0.9)],
      ['beta2', () => new FlatAdam(1e-3, 0.9, NaN)],
      ['beta2', () => new FlatAdam(1e-3, 0.9, -0.5)],
      ['beta2', () => flatAdam(1e-3, 0.9, -Infinity)],
      ['beta1', () => new FlatAdam(1e-3, 1)],
      ['beta2', () => new FlatAdam(1e-3, 0.9, 1.5)],
    ];
    for (const [name, make] of bad) {
      const what = name === 'learningRate' ? 'a finite number >= 0' : 'in \\[0, 1\\)';
      expect(make).toThrow(new RegExp(`FlatAdam: expected ${name} ${what}, got`));
    }
    expect(() => new FlatAdam(0, 0, 0, 0)).not.toThrow(); // zeros are allowed
  });

  // Regression: epsilon was not checked, so NaN or a negative epsilon turned every update into NaN.
  test('a NaN or negative epsilon throws', () => {
    expect(() => new FlatAdam(1e-3, 0.9, 0.999, NaN)).toThrow(/epsilon/);
    expect(() => new FlatAdam(1e-3, 0.9, 0.999, -1)).toThrow(/epsilon/);
  });

  test('getConfig → fromConfig through tf.serialization.SerializationMap (and JSON) gives an equal optimizer', async () => {
    const entry = tf.serialization.SerializationMap.getMap().classNameMap[FlatAdam.className];
    expect(entry).toBeDefined();
    const [cls, fromConfig] = entry;
    for (const args of ARGS) {
      const opt = flatAdam(...args);
      expect(opt.getClassName()).toBe('FlatAdam');
      const config = JSON.parse(JSON.stringify(opt.getConfig())) as tf.serialization.ConfigDict;
      const back = fromConfig(cls, config) as FlatAdam;
      expect(back).toBeInstanceOf(FlatAdam);
      expect(back).not.toBe(opt);
      expect(back.getConfig()).toEqual(opt.getConfig());
      expect([back.learningRate, back.beta1, back.beta2, back.epsilon]).toEqual([args[0], args[1], args[2], args[3] ?? tf.backend().epsilon()]);
      // and it trains the same
      const p = makeProblem(7);
      expectSameValues(train(back, p, 5), train(opt, p, 5), 0, `restored ${JSON.stringify(args)}`);
      opt.dispose();
      back.dispose();
    }
  });
});

/** A tiny regression model with seeded initial weights. */
function tinyModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 8, inputShape: [3], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return model;
}

/** Inputs (N, 3) and targets (N, 1) of a smooth function. */
function tinyData(): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const r = rng(9);
  const x = uniformArray(r, 32 * 3, -1, 1); // (32, 3)
  const y = Float32Array.from({ length: 32 }, (_, i) => Math.sin(2 * x[3 * i]) + x[3 * i + 1] * x[3 * i + 2]); // (32)
  return { xs: tf.tensor2d(x, [32, 3]), ys: tf.tensor2d(y, [32, 1]) };
}

describe('with tf.layers', () => {
  test('model.compile({optimizer: flatAdam(...)}) + fit lowers the loss, with the losses of tf.train.adam', async () => {
    const { xs, ys } = tinyData();
    const fitWith = async (optimizer: tf.Optimizer) => {
      const model = tinyModel();
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const h = await model.fit(xs, ys, { epochs: 15, batchSize: 8, shuffle: false, verbose: 0 });
      model.dispose();
      return h.history.loss as number[];
    };
    const opt = flatAdam(0.03);
    const got = await fitWith(opt);
    expect(got[got.length - 1]).toBeLessThan(0.5 * got[0]);
    expect(opt.iterations).toBe(15 * 4);
    const ref = tf.train.adam(0.03);
    expectRelClose(got, await fitWith(ref), 1e-6, 'fit losses vs tf.train.adam');
    tf.dispose([xs, ys]);
    opt.dispose();
    ref.dispose();
  });

  // Regression: the layout was once keyed by variable name, and a model loaded in the same process gets
  // uniquified variable names (dense_Dense1/kernel_1); the state is now matched by position, as tf.train.adam does.
  test('model.save({includeOptimizer}) → tf.loadLayersModel in the same process resumes training', async () => {
    const { xs, ys } = tinyData();
    const model = tinyModel();
    model.compile({ optimizer: flatAdam(0.03), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved as unknown as tf.io.ModelArtifacts));
    try {
      expect(loaded.optimizer).toBeInstanceOf(FlatAdam);
      const h = await loaded.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
      expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    } finally {
      tf.dispose([xs, ys]);
      model.dispose();
      loaded.dispose();
    }
  });
});
