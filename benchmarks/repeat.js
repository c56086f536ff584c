#!/usr/bin/env node
/**
 * The README's timings, each re-run several times in fresh processes, rounds interleaved (round 1 runs every
 * figure once, then round 2, …), so drift of a shared machine shows as a range instead of one lucky or unlucky
 * figure. Every run records the 1-minute load average before it started. Writes
 * benchmarks/results/readme-timings.json (min, median, max per figure, every run) and prints a table.
 *
 * Figures: the default `mamba-tfjs train` job (selective copying) and `--task induction-heads`, wall time of the
 * built CLI (build excluded); benchmark (b), the wasm train step of Mamba(64, 2 layers), B 4, L 256 and 1024, median
 * of 10 steps; mamba-130m-shaped decode on wasm at batch 1 and 8; convert + load at mamba-130m shapes (float32).
 *
 * Run after `npm run build`:  node benchmarks/repeat.js [--rounds 3] [--only train,induction,step,decode,convert]
 *                             [--out benchmarks/results/readme-timings.json]
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

/** Value of --name in argv, or the fallback. */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Seconds of wall time that `fn` took. */
function wall(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Run node with args; returns stdout (stderr discarded). */
function node(args, opts = {}) {
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20, ...opts });
}

/** The last line of `out` that parses as JSON, or the whole of it. */
function lastJson(out) {
  try {
    return JSON.parse(out);
  } catch {
    const lines = out.trim().split('\n').reverse();
    for (const l of lines) {
      try {
        return JSON.parse(l);
      } catch {
        /* not this line */
      }
    }
    throw new Error(`repeat.js: expected JSON on stdout, got ${JSON.stringify(out.slice(-200))}`);
  }
}

/** One measurement per figure name: returns {figure: value} (several figures may come from one child). */
const JOBS = {
  train: () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repeat-train-'));
    const s = wall(() => node([CLI, 'train', '--out', dir]));
    fs.rmSync(dir, { recursive: true, force: true });
    return { 'main job: train (selective copying, defaults), s': s };
  },
  induction: () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repeat-ind-'));
    const s = wall(() => node([CLI, 'train', '--task', 'induction-heads', '--out', dir]));
    fs.rmSync(dir, { recursive: true, force: true });
    return { 'train --task induction-heads (defaults), s': s };
  },
  step: () => {
    const code = `
      const { mamba, tf } = require('./benchmarks/lib');
      const { trainStep } = require('./benchmarks/trainStep');
      (async () => {
        await mamba.selectBackend('wasm');
        const out = {};
        for (const l of [256, 1024]) {
          const r = await trainStep({ dModel: 64, nLayers: 2, b: 4, l, mode: 'fused', reps: 10, budgetMs: 20000 });
          out['train step (b), wasm, L ' + l + ', ms'] = r.msPerStep;
        }
        console.log(JSON.stringify(out));
      })();`;
    return lastJson(node(['-e', code]));
  },
  decode: () => {
    const r = lastJson(node([path.join('benchmarks', 'decode.js'), '--backends', 'wasm', '--batches', '1,8']));
    const out = {};
    for (const row of r.results) out[`decode mamba-130m shapes, wasm, batch ${row.batch}, tokens/s`] = row.decodeTokensPerS;
    return out;
  },
  convert: () => {
    const r = lastJson(node([path.join('benchmarks', 'convert.js'), '--dtypes', 'float32']));
    const run = r.runs[0];
    return {
      'convert mamba-130m shapes (float32), s': run.wallSeconds,
      'tf.loadLayersModel of it, s': run.loadSeconds,
      'loadTfjsModelStreaming of it, s': run.streamLoadSeconds,
    };
  },
};

/** min, median, max of xs. */
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { min: s[0], median: med, max: s[s.length - 1], n: s.length };
}

function main() {
  const rounds = Number(arg('rounds', '3'));
  const only = arg('only', Object.keys(JOBS).join(',')).split(',');
  for (const name of only) if (!(name in JOBS)) throw new Error(`repeat.js: unknown job '${name}'; expected one of ${Object.keys(JOBS).join(', ')}`);
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    for (const name of only) {
      const load = os.loadavg()[0];
      const startedAt = new Date().toISOString();
      const values = JOBS[name]();
      process.stderr.write(`repeat.js: round ${round} ${name} (load ${load.toFixed(2)}): ${JSON.stringify(values)}\n`);
      runs.push({ round, job: name, startedAt, load1: load, values });
    }
  }
  const figures = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.values)) (figures[k] = figures[k] || []).push(v);
  const summary = Object.fromEntries(Object.entries(figures).map(([k, xs]) => [k, stats(xs)]));
  const cpu = os.cpus()[0];
  const result = {
    machine: `${os.cpus().length} × ${cpu ? cpu.model.trim() : 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    date: new Date().toISOString(),
    rounds,
    summary,
    runs,
  };
  const file = path.resolve(arg('out', path.join(__dirname, 'results', 'readme-timings.json')));
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
  for (const [k, s] of Object.entries(summary)) console.log(`${k}: median ${s.median.toFixed(2)}, range ${s.min.toFixed(2)}–${s.max.toFixed(2)} (${s.n} runs)`);
}

main();
