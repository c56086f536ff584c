/**
 * Benchmark (a): the selective scan op alone, forward + backward, B 1, L 1024, ED 1024, N 16:
 * sequential vs pscan vs fused, on the active backend.
 */
const { tf, mamba, timeSteps, peakBytes } = require('./lib');

/** Random scan inputs of realistic magnitudes. */
function inputs(b, l, ed, n) {
  return tf.tidy(() => ({
    x: tf.randomNormal([b, l, ed], 0, 1, 'float32', 1),
    delta: tf.softplus(tf.randomNormal([b, l, ed], -3, 1, 'float32', 2)),
    A: tf.neg(tf.tile(tf.reshape(tf.range(1, n + 1), [1, n]), [ed, 1])),
    B: tf.randomNormal([b, l, n], 0, 1, 'float32', 3),
    C: tf.randomNormal([b, l, n], 0, 1, 'float32', 4),
    D: tf.ones([ed]),
  }));
}

/** Forward + backward of sum(y · w) through selectiveScan in one mode, returning the tensors made. */
function fwdBwd(t, w, mode) {
  const f = (x, delta, B, C) => tf.sum(tf.mul(mamba.selectiveScan(x, delta, t.A, B, C, t.D, { mode }), w));
  return tf.grads(f)([t.x, t.delta, t.B, t.C]);
}

/**
 * The sequential loop is left out by default: tfjs differentiates each of its L slices by padding the gradient
 * back to the full (B, L, ED, N) shape, O(L²·ED·N) work — one run at this size took over 9 minutes on cpu.
 * The speed chart (d) measures it at small sizes.
 */
async function benchScanOp({ b = 1, l = 1024, ed = 1024, n = 16, modes = ['pscan', 'fused'] } = {}) {
  const t = inputs(b, l, ed, n);
  const w = tf.randomNormal([b, l, ed], 0, 1, 'float32', 5);
  const rows = [];
  for (const mode of modes) {
    if (mode === 'fused' && !mamba.hasFusedScanKernel()) continue;
    const { ms, reps } = await timeSteps(async () => {
      const g = fwdBwd(t, w, mode);
      await g[0].data();
      tf.dispose(g);
    }, { warmup: 1, reps: 3, budgetMs: 60000 });
    const peak = await peakBytes(() => fwdBwd(t, w, mode));
    rows.push({ bench: 'scan-op', backend: tf.getBackend(), mode, B: b, L: l, ED: ed, N: n, msFwdBwd: ms, reps, peakBytes: peak });
    console.error(`  scan op ${tf.getBackend()} ${mode}: ${ms.toFixed(1)} ms, peak ${peak == null ? '-' : (peak / 2 ** 20).toFixed(0)} MiB`);
  }
  tf.dispose([t, w]);
  return rows;
}

module.exports = { benchScanOp };
