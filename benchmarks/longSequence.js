/**
 * Long sequences: wall time and peak RSS of one forward pass at large L, per scan mode and backend, each run in
 * a fresh child process (so peak RSS is that run's alone).
 *
 *   node benchmarks/longSequence.js                        # the default table (L 16384, dModel 64, 1 layer, B 1)
 *   node benchmarks/longSequence.js --L 65536 --runs model:cpu:fused,model:wasm:fused
 *
 * Runs are `kind:backend:mode`:
 *   model:<backend>:<auto|fused|pscan|sequential>   a Mamba stack (dModel 64, --layers layers), x (1, L, 64) → y
 *   op:<backend>:<pscan|pscan-unchunked>       selectiveScan alone at ED 128, N 16 (pscan-unchunked: chunkElements
 *                                              Infinity, i.e. the whole (B, L, ED, N) materialized)
 * Options: --L n, --layers n, --runs list, --timeout seconds (per run, default 600), --json file.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');

const DEFAULT_RUNS = ['model:cpu:fused', 'model:wasm:fused', 'model:cpu:pscan', 'op:cpu:pscan', 'op:cpu:pscan-unchunked'];

/** Parses --name value pairs. */
function parseArgs(argv) {
  const o = { L: 16384, layers: 1, runs: DEFAULT_RUNS, timeout: 600, json: null, child: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--L') o.L = Number(v);
    else if (k === '--layers') o.layers = Number(v);
    else if (k === '--runs') o.runs = v.split(',');
    else if (k === '--timeout') o.timeout = Number(v);
    else if (k === '--json') o.json = v;
    else if (k === '--child') o.child = v;
    else throw new Error(`longSequence: unknown option ${k}`);
  }
  return o;
}

/** Peak resident set size of this process so far, in MiB. */
function peakRssMiB() {
  return process.resourceUsage().maxRSS / 1024;
}

/** One run, inside the child process: prints a JSON line. */
async function child(spec, L, layers) {
  const tf = require('@tensorflow/tfjs');
  const mamba = require('../dist/node');
  const [kind, backend, mode] = spec.split(':');
  await mamba.selectBackend(backend);
  const baseline = peakRssMiB();
  let out;
  const t0 = Date.now();
  if (kind === 'model') {
    const layer = mamba.mambaLayer({ dModel: 64, nLayers: layers, scanMode: mode, seed: 1 });
    const x = tf.randomNormal([1, L, 64], 0, 1, 'float32', 3);
    out = layer.apply(x);
  } else {
    const [ed, n] = [128, 16];
    const x = tf.randomNormal([1, L, ed], 0, 1, 'float32', 1);
    const delta = tf.softplus(tf.randomNormal([1, L, ed], -3, 1, 'float32', 2));
    const A = tf.neg(tf.tile(tf.reshape(tf.range(1, n + 1), [1, n]), [ed, 1]));
    const B = tf.randomNormal([1, L, n], 0, 1, 'float32', 3);
    const C = tf.randomNormal([1, L, n], 0, 1, 'float32', 4);
    const D = tf.ones([ed]);
    const options = mode === 'pscan-unchunked' ? { mode: 'pscan', chunkElements: Infinity } : { mode };
    out = mamba.selectiveScan(x, delta, A, B, C, D, options);
  }
  const values = await out.data();
  const ms = Date.now() - t0;
  let finite = true;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) { finite = false; break; }
  const resolved = kind === 'model' ? mamba.resolveScanMode(mode) : mode;
  console.log(JSON.stringify({ spec, resolved, L, layers, ms, peakRssMiB: peakRssMiB(), baselineRssMiB: baseline, finite }));
}

/** Why a child run failed: a timeout, the first error line of its stderr, or its exit status. */
function failure(r) {
  if (r.error) return r.error.code === 'ETIMEDOUT' ? 'timed out' : r.error.message;
  const lines = (r.stderr || '').split('\n');
  const line = lines.find((s) => /Error|error:|Aborted|out of memory/i.test(s) && !/^\s+at /.test(s));
  return (line || `exit ${r.status} (signal ${r.signal})`).trim().slice(0, 200);
}

/** Runs every spec in its own process and prints the table. */
function main(o) {
  const rows = [];
  for (const spec of o.runs) {
    process.stderr.write(`${spec} at L ${o.L}...\n`);
    const r = spawnSync(process.execPath, [__filename, '--child', spec, '--L', String(o.L), '--layers', String(o.layers)], {
      encoding: 'utf8', timeout: o.timeout * 1000, maxBuffer: 1 << 20,
    });
    const line = (r.stdout || '').split('\n').find((s) => s.startsWith('{'));
    if (line) rows.push(JSON.parse(line));
    else rows.push({ spec, L: o.L, layers: o.layers, error: failure(r) });
  }
  console.log(`| run | L | layers | time (s) | peak RSS (MiB) | of which tfjs + node at start (MiB) |`);
  console.log(`| --- | --- | --- | --- | --- | --- |`);
  for (const r of rows) {
    if (r.error) console.log(`| ${r.spec} | ${r.L} | ${r.layers} | failed: ${r.error} | | |`);
    else console.log(`| ${r.spec} | ${r.L} | ${r.layers} | ${(r.ms / 1000).toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.baselineRssMiB.toFixed(0)} |${r.finite ? '' : ' non-finite output!'}`);
  }
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(rows, null, 2));
}

const opts = parseArgs(process.argv.slice(2));
if (opts.child) {
  child(opts.child, opts.L, opts.layers).catch((e) => {
    console.error(e.stack || e);
    process.exit(1);
  });
} else {
  main(opts);
}
