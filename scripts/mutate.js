#!/usr/bin/env node
/**
 * Mutation testing: `npm run mutate [-- --only id,id] [--no-baseline] [--keep]`.
 *
 * For every mutant of scripts/mutants.js (one exact edit each), run the jest files it lists and record whether
 * they fail (killed) or pass (survived), then write docs/mutation.md. Exits 1 if a mutant survived, 2 if the setup
 * is wrong (a snippet not found exactly once, a missing test file, a baseline failure, a mutant that does not build).
 *
 * The work happens in a copy: <tmp>/repo holds src, test, asm and the other tracked folders and configs, with
 * node_modules a symlink to this checkout's (the fixtures the tests read are in test/fixtures).
 * The copy is built once (npm run build); its tests then run unmutated (the baseline: a mutant is only "killed"
 * if its tests passed without it). Each mutant is applied to the copy, built if needed (asm/ → build:wasm), its
 * tests run with one jest worker, and the file (and src/ops/kernels/simd/scanWasmBinary.ts) put back, checked byte for byte.
 * The same copy serves every mutant, so ts-jest's cache stays warm.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const MUTANTS = require('./mutants.js');
const COPY = ['src', 'test', 'asm', 'scripts', 'notebooks', 'examples', 'benchmarks', 'docs',
  'fuzz', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.test.json', 'tsconfig.esm.json', 'jest.config.js',
  'README.md', 'typedoc.json', 'eslint.config.mjs'];
const WASM = 'src/ops/kernels/simd/scanWasmBinary.ts'; // the SIMD module, embedded by build:wasm
const REPORT = path.join(ROOT, 'docs', 'mutation.md');
const TEST_TIMEOUT_MS = 15 * 60 * 1000;

function parseArgs(argv) {
  const args = { only: null, baseline: true, keep: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') args.only = new Set(argv[++i].split(','));
    else if (argv[i] === '--no-baseline') args.baseline = false;
    else if (argv[i] === '--keep') args.keep = true;
    else throw new Error(`mutate: unknown argument ${argv[i]} (expected --only id,id | --no-baseline | --keep)`);
  }
  return args;
}

/** Occurrences of `find` in `text`. */
function count(text, find) {
  let n = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) n++;
  return n;
}

/** Every problem with the mutant list against this checkout; empty when all is well. */
function checkMutants(mutants) {
  const problems = [];
  const ids = new Set();
  for (const m of mutants) {
    if (ids.has(m.id)) problems.push(`${m.id}: duplicate id`);
    ids.add(m.id);
    const file = path.join(ROOT, m.file);
    if (!fs.existsSync(file)) {
      problems.push(`${m.id}: file ${m.file} not found (moved? update scripts/mutants.js)`);
      continue;
    }
    const n = count(fs.readFileSync(file, 'utf8'), m.find);
    if (n !== 1) problems.push(`${m.id}: expected the snippet exactly once in ${m.file}, found it ${n} times: ${JSON.stringify(m.find)}`);
    if (m.find === m.replace) problems.push(`${m.id}: replace equals find`);
    if (!Array.isArray(m.tests) || m.tests.length === 0) problems.push(`${m.id}: expected a non-empty tests list`);
    for (const t of m.tests ?? []) if (!fs.existsSync(path.join(ROOT, t))) problems.push(`${m.id}: test file ${t} not found`);
  }
  if (mutants.length === 0) problems.push('no mutants selected');
  return problems;
}

/** Runs a command in `cwd`; returns { ok, code, out, seconds }. */
function run(cmd, args, cwd, timeout = TEST_TIMEOUT_MS) {
  const started = Date.now();
  const env = { ...process.env, CI: '1', FORCE_COLOR: '0' };
  for (const k of Object.keys(env)) if (k.startsWith('MAMBA_TFJS_')) delete env[k];
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 2 ** 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return { ok: r.status === 0, code: r.status, timedOut: r.error?.code === 'ETIMEDOUT', out, seconds: (Date.now() - started) / 1000 };
}

function jest(dir, tests, filter) {
  const args = [path.join(dir, 'node_modules/jest/bin/jest.js'), '--ci', '--maxWorkers=1', ...tests];
  if (filter) args.push('-t', filter);
  return run(process.execPath, args, dir);
}

/** The first failing test's name in jest's output (or the first line that says why the suite did not run). */
function firstFailure(out) {
  const failed = out.split('\n').find((l) => /^\s*✕ /.test(l));
  if (failed) return failed.trim().replace(/^✕ /, '').replace(/ \(\d+ ms\)$/, '');
  if (/Test suite failed to run/.test(out)) return 'suite failed to run (compile error?)';
  return '';
}

/** The copy: <tmp>/repo (COPY + node_modules symlink + a full build). */
function makeCopy() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-mutate-'));
  const dir = path.join(tmp, 'repo');
  fs.mkdirSync(dir);
  for (const entry of COPY) {
    const src = path.join(ROOT, entry);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'));
  console.log(`mutate: copy in ${dir}; building…`);
  const b = run('npm', ['run', 'build'], dir);
  if (!b.ok) throw new Error(`mutate: the unmutated copy does not build:\n${b.out.slice(-3000)}`);
  return { tmp, dir };
}

/** Applies mutant m in dir, builds if needed, runs its tests, restores; returns its result row. */
function runMutant(dir, m) {
  const file = path.join(dir, m.file);
  const original = fs.readFileSync(file, 'utf8');
  if (count(original, m.find) !== 1) throw new Error(`mutate: ${m.id}: snippet not found exactly once in the copy of ${m.file}`);
  const build = m.build ?? (m.file.startsWith('asm/') ? 'wasm' : null);
  const wasmBytes = fs.readFileSync(path.join(dir, WASM));
  const started = Date.now();
  fs.writeFileSync(file, original.replace(m.find, () => m.replace));
  try {
    if (build) {
      const b = run('npm', ['run', build === 'wasm' ? 'build:wasm' : 'build'], dir);
      if (!b.ok) return { status: 'does not build', detail: b.out.trim().split('\n').slice(-3).join(' '), seconds: (Date.now() - started) / 1000 };
    }
    const r = jest(dir, m.tests, m.filter);
    const status = r.timedOut ? 'killed (timeout)' : r.ok ? 'SURVIVED' : 'killed';
    return { status, detail: r.ok ? '' : firstFailure(r.out), seconds: (Date.now() - started) / 1000 };
  } finally {
    restore(dir, file, original, wasmBytes, build, m.id);
  }
}

/** Puts the copy back as it was before mutant `id` (and rebuilds it after a full build); throws if it cannot. */
function restore(dir, file, original, wasmBytes, build, id) {
  fs.writeFileSync(file, original);
  if (build) fs.writeFileSync(path.join(dir, WASM), wasmBytes);
  const rebuilt = build === 'full' ? run('npm', ['run', 'build'], dir).ok : true;
  const same = fs.readFileSync(file, 'utf8') === original && fs.readFileSync(path.join(dir, WASM)).equals(wasmBytes);
  if (!rebuilt || !same) throw new Error(`mutate: ${id}: could not restore the copy`);
}

const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s) => (s === '' ? '(deleted)' : `\`${esc(s).replace(/`/g, "'")}\``);

function writeReport(rows, baseline, totalSeconds, only) {
  const commit = run('git', ['rev-parse', '--short', 'HEAD'], ROOT).out.trim();
  const killed = rows.filter((r) => r.status.startsWith('killed')).length;
  const survivors = rows.filter((r) => r.status === 'SURVIVED');
  const lines = [
    '# Mutation testing',
    '',
    `\`npm run mutate\` (scripts/mutate.js, mutants in scripts/mutants.js): each mutant is one exact edit of the source`,
    'that models a plausible bug; its listed jest files (and `-t` filter) run on a copy of the repository with the edit',
    'applied. Killed: a test failed. SURVIVED: every test passed, so the suite does not notice that bug.',
    '',
    `Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC at commit ${commit}, Node ${process.version}, ` +
      `one jest worker: **${killed} of ${rows.length} killed**, ${survivors.length} survived, ${totalSeconds.toFixed(0)} s in all` +
      (baseline ? ` (baseline: every listed test passed unmutated, ${baseline.toFixed(0)} s).` : ' (baseline skipped).') +
      (only ? ` Partial run: --only ${[...only].join(',')}.` : ''),
    '',
    '| mutant | file | edit | tests (`-t` filter) | result | first failing test | time |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.m.id} | ${r.m.file} | ${code(r.m.find)} → ${code(r.m.replace)} | ${r.m.tests.join(', ')}${r.m.filter ? ` (${code(r.m.filter)})` : ''} | ` +
      `${r.status === 'SURVIVED' ? '**SURVIVED**' : r.status} | ${esc(r.detail)} | ${r.seconds.toFixed(0)} s |`),
    '',
    '## What each mutant models',
    '',
    ...rows.map((r) => `- **${r.m.id}**${r.status === 'SURVIVED' ? ' (SURVIVED)' : ''}: ${r.m.note}.`),
    '',
  ];
  if (survivors.length) {
    lines.push('## Survivors', '', ...survivors.map((r) => `- **${r.m.id}**: ${r.m.note}.`), '');
  }
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, lines.join('\n'));
  console.log(`mutate: wrote ${path.relative(ROOT, REPORT)}`);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const mutants = args.only ? MUTANTS.filter((m) => args.only.has(m.id)) : MUTANTS;
  if (args.only) for (const id of args.only) if (!MUTANTS.some((m) => m.id === id)) throw new Error(`mutate: no mutant ${id}`);
  const problems = checkMutants(mutants);
  if (problems.length) {
    console.error(`mutate: the mutant list does not fit this checkout:\n  ${problems.join('\n  ')}`);
    process.exit(2);
  }
  const started = Date.now();
  const { tmp, dir } = makeCopy();
  let exitCode = 0;
  try {
    let baseline = null;
    if (args.baseline) {
      const jobs = [...new Map(mutants.map((m) => [`${m.tests.join(' ')}|${m.filter ?? ''}`, m])).values()];
      for (const m of jobs) {
        const r = jest(dir, m.tests, m.filter);
        console.log(`baseline ${m.tests.join(' ')}${m.filter ? ` -t '${m.filter}'` : ''}: ${r.ok ? 'pass' : 'FAIL'} (${r.seconds.toFixed(0)} s)`);
        if (!r.ok) {
          console.error(r.out.slice(-4000));
          throw new Error('mutate: a listed test fails without any mutant; fix that first');
        }
        baseline = (baseline ?? 0) + r.seconds;
      }
    }
    const rows = [];
    for (const m of mutants) {
      const r = runMutant(dir, m);
      console.log(`${m.id}: ${r.status} (${r.seconds.toFixed(0)} s)${r.detail ? ` — ${r.detail}` : ''}`);
      rows.push({ m, ...r });
    }
    writeReport(rows, baseline, (Date.now() - started) / 1000, args.only);
    if (rows.some((r) => r.status === 'does not build')) exitCode = 2;
    else if (rows.some((r) => r.status === 'SURVIVED')) exitCode = 1;
  } catch (e) {
    console.error(e.message);
    exitCode = 2;
  } finally {
    if (!args.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`mutate: kept ${tmp}`);
  }
  process.exit(exitCode);
}

main();
