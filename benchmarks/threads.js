/**
 * Benchmark: one core against every core, for a train step of Mamba(64, 2 layers, dState 16), B 4, L 256 and 1024,
 * with Adam, on wasm (the settings of trainStep.js (b)).
 *
 * The machine is shared, so the two runs are interleaved: processes alternate A B A B … (A: MAMBA_TFJS_THREADS=1
 * and MAMBA_TFJS_WASM_THREADS=1, everything on one thread; B: both 0 (or --threads n), tfjs's threaded wasm build
 * and the SIMD kernels' worker pool, one thread per core), and inside each process the kernels' pool is switched off and on from step to step, which
 * separates the two sources of speed: A-off = one thread, A-on = kernel pool only, B-off = tfjs threads only,
 * B-on = every core. Prints medians, fastest and ranges over processes (the fastest shows what the code reaches when
 * the other loads leave the cores free), the paired ratio every-core / one-thread per
 * process pair, the load average (1 min) around each process and the cores actually free before it (freeCores); writes benchmarks/results/threads.json.
 *
 * With --kernels instead: the SIMD kernels alone (scan forward, scan backward, conv backward, softplus at B 4,
 * L 1024, ED 128, N 16), one thread against the pool, interleaved call by call; medians and fastest calls.
 *
 * Usage: npm run build && node benchmarks/threads.js [--pairs 4] [--steps 7] [--threads 0] [--optimizer adam|flatAdam]
 *        [--out FILE] | [--kernels [--reps 30]]
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** One process: timings of both pool settings, interleaved step by step, per length. */
async function child() {
  const { tf, mamba, median, meanSquare } = require('./lib');
  await mamba.selectBackend('wasm');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const base = tf.env().getNumber('MAMBA_TFJS_THREADS');
  const steps = arg('steps', 7);
  const out = { tfjsThreads: wasm.getThreadsCount(), lengths: {} };
  for (const l of [256, 1024]) {
    const layer = mamba.mambaLayer({ dModel: 64, nLayers: 2, dState: 16, scanMode: 'auto', seed: 1 });
    const x = tf.randomNormal([4, l, 64], 0, 1, 'float32', 7);
    tf.tidy(() => layer.apply(x));
    const vars = layer.trainableWeights.map((w) => w.read());
    // --optimizer adam (tf.train.adam, the default) or flatAdam (src/training/flatAdam.ts: the same update, ~2 kernels a variable).
    const opt = process.argv.includes('flatAdam') ? mamba.flatAdam(1e-3) : tf.train.adam(1e-3);
    const loss = () => meanSquare(layer.call(x, {}));
    const step = async () => {
      const t0 = process.hrtime.bigint();
      const cost = opt.minimize(loss, true, vars);
      await cost.data();
      cost.dispose();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const times = { off: [], on: [] };
    const setPool = (on) => tf.env().set('MAMBA_TFJS_THREADS', on ? (base === 1 ? 0 : base) : 1);
    for (const on of [false, true, false, true]) { setPool(on); await step(); } // warm-up, both pools started
    for (let i = 0; i < steps; i++) {
      for (const on of i % 2 ? [true, false] : [false, true]) {
        setPool(on);
        times[on ? 'on' : 'off'].push(await step());
      }
    }
    setPool(false);
    out.lengths[l] = { off: median(times.off), on: median(times.on), offAll: times.off, onAll: times.on };
    opt.dispose();
    x.dispose();
    layer.dispose();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * How many cores this process can use now: the same busy loop run alone, then on every core at once (worker
 * threads); cores × (time alone / time together). On an idle machine it is the core count; on a shared one less.
 */
function freeCores() {
  const { Worker } = require('worker_threads');
  const script = `const { workerData: { sab, i } } = require('worker_threads');
    const ctl = new Int32Array(sab);
    const t0 = process.hrtime.bigint(); let x = 0; for (let k = 0; k < 1e8; k++) x = (x + k * 7) % 1000003;
    ctl[1 + i] = Number((process.hrtime.bigint() - t0) / 1000n) + (x < 0 ? 1 : 0);
    Atomics.add(ctl, 0, 1); Atomics.notify(ctl, 0);`;
  const run = (n) => {
    const ctl = new Int32Array(new SharedArrayBuffer(4 * (n + 1)));
    const ws = Array.from({ length: n }, (_, i) => new Worker(script, { eval: true, workerData: { sab: ctl.buffer, i } }));
    let done;
    while ((done = Atomics.load(ctl, 0)) < n) Atomics.wait(ctl, 0, done, 100);
    ws.forEach((w) => w.terminate());
    return Math.max(...ctl.subarray(1));
  };
  const n = os.availableParallelism();
  const alone = run(1);
  const together = run(n);
  return +(n * Math.min(1, alone / together)).toFixed(2);
}

function parent() {
  const pairs = arg('pairs', 4);
  const threads = String(arg('threads', 0));
  const runs = [];
  for (let p = 0; p < pairs; p++) {
    for (const mode of p % 2 ? ['B', 'A'] : ['A', 'B']) {
      const load0 = os.loadavg()[0];
      const free = freeCores();
      const env = { ...process.env, MAMBA_TFJS_THREADS: mode === 'A' ? '1' : threads, MAMBA_TFJS_WASM_THREADS: mode === 'A' ? '1' : threads };
      const r = spawnSync(process.execPath, [__filename, '--child', ...process.argv.slice(2)], { env, encoding: 'utf8', timeout: 600000 });
      if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr || r.error}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop());
      runs.push({ pair: p, mode, load: [load0, os.loadavg()[0]], freeCores: free, ...res });
      console.error(`pair ${p} ${mode}: ` + Object.entries(res.lengths).map(([l, v]) => `L ${l} off ${v.off.toFixed(1)} on ${v.on.toFixed(1)}`).join(', ') + ` (load ${load0.toFixed(1)}→${os.loadavg()[0].toFixed(1)}, free cores before ${free})`);
    }
  }
  const summary = {};
  for (const l of [256, 1024]) {
    const A = runs.filter((r) => r.mode === 'A');
    const B = runs.filter((r) => r.mode === 'B');
    const col = (rs, k) => rs.map((r) => r.lengths[l][k]);
    const fastest = (rs, k) => Math.min(...rs.flatMap((r) => r.lengths[l][`${k}All`]));
    const ratios = A.map((a) => B.find((b) => b.pair === a.pair).lengths[l].on / a.lengths[l].off);
    summary[l] = {
      oneThread: col(A, 'off'), kernelPoolOnly: col(A, 'on'), tfjsThreadsOnly: col(B, 'off'), everyCore: col(B, 'on'), ratioEveryCoreToOne: ratios,
    };
    const cell = (rs, k) => `${median(col(rs, k)).toFixed(1)} ms (${range(col(rs, k))}; fastest step ${fastest(rs, k).toFixed(1)})`;
    summary[l].fastest = { oneThread: fastest(A, 'off'), kernelPoolOnly: fastest(A, 'on'), tfjsThreadsOnly: fastest(B, 'off'), everyCore: fastest(B, 'on') };
    console.log(`L ${l}: one thread ${cell(A, 'off')}, kernel pool only ${cell(A, 'on')}, tfjs threads only ${cell(B, 'off')}, every core ${cell(B, 'on')}; ` +
      `every core / one thread: median of pairs ${median(ratios).toFixed(2)} (${range(ratios)}), fastest steps ${(fastest(B, 'on') / fastest(A, 'off')).toFixed(2)}`);
  }
  const loads = runs.flatMap((r) => r.load);
  console.log(`load average (1 min) during the runs: ${range(loads)} on ${os.cpus().length} cores; free cores (busy loops alone vs on every core): ${range(runs.map((r) => r.freeCores)).replace(/(\d)0(?=\D|$)/g, '$1')}; tfjs threads in B: ${runs.find((r) => r.mode === 'B').tfjsThreads}`);
  const outAt = process.argv.indexOf('--out');
  const file = outAt >= 0 ? process.argv[outAt + 1] : path.join(__dirname, 'results', 'threads.json');
  const optimizer = process.argv.includes('flatAdam') ? 'flatAdam' : 'adam';
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: require('./lib').machine(), optimizer, pairs, summary, runs }, null, 1) + '\n');
}

/** The kernels alone, pool off and on call by call. */
function kernels() {
  const { tf, median: med } = require('./lib');
  const dist = (f) => require(path.join(__dirname, '..', 'dist', 'ops', 'kernels', 'simd', f));
  const { fusedScanBackwardFast, fusedScanForwardFast } = dist('scan.js');
  const { convBackwardFast } = dist('conv.js');
  const { softplusInto } = dist('softplus.js');
  const [B, L, ED, N, K] = [4, 1024, 128, 16, 4];
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const f = (n, g = rand) => Float32Array.from({ length: n }, g);
  const x = f(B * L * ED), delta = f(B * L * ED, () => 0.01 + 0.05 * (rand() + 1)), A = f(ED * N, () => -1.5 + 0.5 * rand());
  const Bm = f(B * L * N), Cm = f(B * L * N), D = f(ED), dy = f(B * L * ED), w = f(K * ED);
  const out = [new Float32Array(B * L * ED), new Float32Array(K * ED), new Float32Array(ED)];
  const jobs = {
    'scan forward': () => fusedScanForwardFast(x, delta, A, Bm, Cm, D, { B, L, ED, N }),
    'scan backward': () => fusedScanBackwardFast(x, delta, A, Bm, Cm, D, dy, { B, L, ED, N }),
    'conv backward': () => convBackwardFast(x, w, dy, { B, L, ED, K }, ...out),
    softplus: () => softplusInto(x, out[0]),
  };
  const threads = arg('threads', 0);
  const reps = arg('reps', 30);
  console.log(`B ${B}, L ${L}, ED ${ED}, N ${N}; pool of ${threads || os.availableParallelism()} threads; load ${os.loadavg()[0].toFixed(1)}; free cores ${freeCores()}`);
  for (const [name, fn] of Object.entries(jobs)) {
    const t = { one: [], pool: [] };
    for (let i = 0; i < reps + 2; i++) {
      for (const k of i % 2 ? ['pool', 'one'] : ['one', 'pool']) {
        tf.env().set('MAMBA_TFJS_THREADS', k === 'one' ? 1 : threads);
        const t0 = process.hrtime.bigint();
        fn();
        if (i >= 2) t[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    console.log(`${name}: one thread ${med(t.one).toFixed(2)} ms (fastest ${Math.min(...t.one).toFixed(2)}), pool ${med(t.pool).toFixed(2)} ms (fastest ${Math.min(...t.pool).toFixed(2)}); ratio ${(med(t.pool) / med(t.one)).toFixed(2)} (fastest ${(Math.min(...t.pool) / Math.min(...t.one)).toFixed(2)})`);
  }
  console.log(`load ${os.loadavg()[0].toFixed(1)}; free cores ${freeCores()}`);
  process.exit(0);
}

if (process.argv.includes('--kernels')) kernels();
else if (process.argv.includes('--child')) child().catch((e) => { console.error(e); process.exit(1); });
else parent();
