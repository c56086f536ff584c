/**
 * Per-kernel time of the train step (b) (Mamba(64, 2 layers), B 4, L 256 and 1024) on wasm: tf.profile over 3 steps
 * after warm-up; prints per length the step's median and fastest ms, kernels per step, and the 16 costliest kernels as
 * name:calls:ms per step. The thread counts are the flags' (MAMBA_TFJS_THREADS, MAMBA_TFJS_WASM_THREADS).
 * Usage: npm run build && node benchmarks/profileStep.js [flat]   (flat: FlatAdam instead of tf.train.adam)
 */
const { tf, mamba, meanSquare } = require('./lib');
(async () => {
  await mamba.selectBackend('wasm');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const flat = process.argv.includes('flat');
  for (const L of [256, 1024]) {
    const layer = mamba.mambaLayer({ dModel: 64, nLayers: 2, dState: 16, scanMode: 'auto', seed: 1 });
    const x = tf.randomNormal([4, L, 64], 0, 1, 'float32', 7);
    tf.tidy(() => layer.apply(x));
    const vars = layer.trainableWeights.map((w) => w.read());
    const opt = flat ? mamba.flatAdam(1e-3) : tf.train.adam(1e-3);
    const loss = () => meanSquare(layer.call(x, {}));
    const step = async () => { const c = opt.minimize(loss, true, vars); await c.data(); c.dispose(); };
    for (let i = 0; i < 6; i++) await step();
    const ts = [];
    for (let i = 0; i < 9; i++) { const t0 = performance.now(); await step(); ts.push(performance.now() - t0); }
    ts.sort((a, b) => a - b);
    const info = await tf.profile(async () => { for (let i = 0; i < 3; i++) await step(); });
    const agg = new Map();
    let tot = 0;
    for (const k of info.kernels) {
      if (k.name === 'unnamed scope') continue;
      const t = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = agg.get(k.name) || { n: 0, ms: 0 }; e.n++; e.ms += t; agg.set(k.name, e); tot += t;
    }
    const rows = [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 16).map(([n, e]) => `${n}:${(e.n / 3).toFixed(0)}:${(e.ms / 3).toFixed(1)}`);
    console.log(`L${L} threads pool=${tf.env().getNumber('MAMBA_TFJS_THREADS')} tfjs=${wasm.getThreadsCount()} ${flat ? 'flat' : 'adam'} median ${ts[4].toFixed(1)} min ${ts[0].toFixed(1)} kernels ${(info.kernels.length / 3).toFixed(0)} kernelMs ${(tot / 3).toFixed(1)} | ${rows.join(' ')}`);
    opt.dispose(); x.dispose(); layer.dispose();
  }
  process.exit(0);
})();
