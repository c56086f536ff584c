#!/usr/bin/env node
/**
 * `npm run fuzz` (node dist/fuzz/cli.js --cases 5000): fuzzes the safetensors reader, the torch zip reader,
 * the unpickler and the config parser with mutated copies of the fixture files, prints outcome counts per
 * target as a table, and exits with status 1 when any case crashed, was slow or used too much memory.
 *
 * Options: --cases N (per target, default 5000), --seed S (default 1), --targets a,b (default all),
 * --fixtures DIR (default the project's test/fixtures), --save DIR (write failing inputs there),
 * --time-limit MS (default 1000), --only-case I (replay one case).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { allTargets } from './targets';
import { fuzzTarget, runCase, TargetSummary } from './runner';
import { anyFailure, formatFailures, formatTable } from './report';

interface CliOptions {
  cases: number;
  seed: number;
  targets: string[] | null;
  fixtures: string;
  save: string | null;
  timeLimitMs: number;
  onlyCase: number | null;
}

function intOption(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`fuzz: expected ${name} to be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses the command line. */
export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = {
    cases: 5000, seed: 1, targets: null, fixtures: path.resolve(__dirname, '../../test/fixtures'), save: null,
    timeLimitMs: 1000, onlyCase: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    i++;
    if (flag === '--cases') o.cases = intOption(flag, value, 1);
    else if (flag === '--seed') o.seed = intOption(flag, value, 0);
    else if (flag === '--targets') o.targets = String(value).split(',');
    else if (flag === '--fixtures') o.fixtures = path.resolve(String(value));
    else if (flag === '--save') o.save = path.resolve(String(value));
    else if (flag === '--time-limit') o.timeLimitMs = intOption(flag, value, 1);
    else if (flag === '--only-case') o.onlyCase = intOption(flag, value, 0);
    else throw new Error(`fuzz: unknown option ${flag} (expected --cases, --seed, --targets, --fixtures, --save, --time-limit, --only-case)`);
  }
  return o;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  let targets = allTargets(o.fixtures);
  if (o.targets) {
    const unknown = o.targets.filter((t) => !targets.some((x) => x.name === t));
    if (unknown.length) throw new Error(`fuzz: unknown targets ${unknown.join(', ')} (expected ${targets.map((t) => t.name).join(', ')})`);
    targets = targets.filter((t) => o.targets!.includes(t.name));
  }
  const options = { cases: o.cases, seed: o.seed, timeLimitMs: o.timeLimitMs, captureEscaped: true };
  if (o.onlyCase !== null) {
    for (const t of targets) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-fuzz-'));
      const c = await runCase(t, o.onlyCase, options, dir, null);
      fs.rmSync(dir, { recursive: true, force: true });
      console.log(`${t.name} case ${c.index}: ${c.outcome} in ${c.ms.toFixed(1)} ms; ${c.what.join('; ')}\n  ${c.message}`);
    }
    return 0;
  }
  const summaries: TargetSummary[] = [];
  for (const t of targets) {
    process.stderr.write(`fuzzing ${t.name}: ${o.cases} cases, seed ${o.seed}...\n`);
    summaries.push(await fuzzTarget(t, options));
  }
  console.log(formatTable(summaries));
  const failures = formatFailures(summaries, o.seed);
  if (failures) console.log(`\n${failures}`);
  if (o.save) {
    fs.mkdirSync(o.save, { recursive: true });
    for (const s of summaries) {
      for (const f of s.failures) {
        fs.writeFileSync(path.join(o.save, `${f.target}-${f.index}.bin`), f.bytes);
        fs.writeFileSync(path.join(o.save, `${f.target}-${f.index}.txt`), `${f.outcome}\n${f.what.join('\n')}\n${f.message}\n`);
      }
    }
  }
  return anyFailure(summaries) ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error((e as Error).message);
      process.exit(2);
    },
  );
}
