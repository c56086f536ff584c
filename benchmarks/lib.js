/**
 * Shared benchmark helpers: timing with warm-up, peak memory through tf.profile, train-step timing, machine description.
 * Benchmarks run over the built package (dist/): `npm run bench` builds first.
 */
const os = require('os');
const tf = require('@tensorflow/tfjs');
const mamba = require('../dist/node');

/** Median of an array of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Time `step` (which must leave no tensors behind and finish its work, e.g. by reading a value).
 * Runs `warmup` untimed steps (more until `warmupMs` have passed), then up to `reps` timed ones (fewer when one step is slower than `budgetMs`/reps).
 * @returns {{ms: number, minMs: number, reps: number}} median and fastest milliseconds per step
 */
async function timeSteps(step, { warmup = 1, warmupMs = 0, reps = 5, budgetMs = 20000 } = {}) {
  const w0 = Date.now();
  for (let i = 0; i < warmup || Date.now() - w0 < warmupMs; i++) await step();
  const times = [];
  const start = Date.now();
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (Date.now() - start > budgetMs) break;
  }
  return { ms: median(times), minMs: Math.min(...times), reps: times.length };
}

/** Peak bytes of tensors alive during one call of `fn` (tf.profile), which must return tensors to dispose. */
async function peakBytes(fn) {
  const info = await tf.profile(fn);
  tf.dispose(info.result);
  return info.peakBytes;
}

/** A one-line description of this machine. */
function machine() {
  const cpu = os.cpus()[0];
  return `${os.cpus().length} × ${cpu ? cpu.model.trim() : 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/**
 * Time (timeSteps, one warm-up) and peak tensor memory (peakBytes of the loss and its gradients) of one train step:
 * `opt.minimize(loss)` over `vars`. Returns { ms, minMs, reps, peakBytes }.
 */
async function measureTrainStep(opt, loss, vars, { reps = 5, warmup = 1, warmupMs = 0, budgetMs = 30000 } = {}) {
  const step = async () => {
    const cost = opt.minimize(loss, true, vars);
    await cost.data();
    cost.dispose();
  };
  const t = await timeSteps(step, { warmup, warmupMs, reps, budgetMs });
  const peak = await peakBytes(() => {
    const { value, grads } = tf.variableGrads(loss, vars);
    return [value, ...Object.values(grads)];
  });
  return { ...t, peakBytes: peak };
}

/**
 * The benchmarks' loss, mean(y²) over every element (mamba.py's and the PyTorch anchor's `out.pow(2).mean()`), with its
 * gradient 2y/N written out. As tf ops it costs a webgpu step far more than its arithmetic: tfjs-webgpu reduces a
 * whole tensor to a scalar in one workgroup (12 ms for (8, 4096, 256) on an H200; two stages, rows then their mean:
 * 0.3 ms), and tfjs's Mean gradient builds a ones tensor of y's size on the CPU and uploads it every step (a host
 * profile of the H200 runs: 16 % of the step's time). Same value and gradient; only the route differs.
 */
const meanSquareOp = tf.customGrad((y, save) => {
  save([y]);
  return {
    value: tf.mean(tf.mean(tf.square(y), -1)), // ()
    gradFunc: (dy, [sy]) => tf.mul(sy, tf.mul(dy, 2 / sy.size)), // y's shape
  };
});
function meanSquare(y) {
  return meanSquareOp(y);
}

/**
 * Makes navigator.gpu (unless there is one) a Dawn instance of the `webgpu` package with timestamp queries that
 * tf.profile can use for each kernel's GPU time: Dawn's 'allow_unsafe_apis' on and its timestamp quantization off,
 * so that kernels of a few µs count. Call before mamba.selectBackend('webgpu').
 */
function webgpuWithTimestamps() {
  if (globalThis.navigator?.gpu) return;
  const { create, globals } = require('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=timestamp_quantization']);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

module.exports = { tf, mamba, median, meanSquare, webgpuWithTimestamps, timeSteps, peakBytes, measureTrainStep, machine };
