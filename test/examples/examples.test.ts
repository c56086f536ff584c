/**
 * Runs each example as a user would (`node examples/run.js NAME FLAGS`), at a tiny size, and checks what it
 * printed: accuracy above chance, a falling loss, and greedy ids equal to the reference's.
 */
import * as path from 'path';
import { execFile } from 'child_process';
import { promisify } from 'util';
import { openReference } from '../helpers/fixtures';

const root = path.resolve(__dirname, '../..');

/** Runs an example through examples/run.js; resolves to its stdout (rejects with its stderr on failure). */
async function runExample(name: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'examples/run.js'), name, ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  return stdout;
}

/** The number after `label` in the output (the last occurrence). */
function numberAfter(out: string, label: RegExp): number {
  const matches = [...out.matchAll(new RegExp(`${label.source}\\s*(-?[\\d.]+)`, 'g'))];
  expect(matches.length).toBeGreaterThan(0);
  return Number(matches[matches.length - 1][1]);
}

test('worldModel learns the grid game above chance', async () => {
  const out = await runExample('worldModel', ['--episodes', '96', '--length', '8', '--epochs', '4']);
  const before = numberAfter(out, /accuracy before training:/);
  const after = numberAfter(out, /next-state accuracy on 128 fresh episodes:/);
  expect(after).toBeGreaterThan(25); // percent; chance is 11.1
  expect(after).toBeGreaterThan(before);
  expect(out).toMatch(/dream: \d\/8 steps equal the real game/);
}, 90_000);

test('sequentialRegression: the loss falls', async () => {
  const out = await runExample('sequentialRegression', ['--sequences', '64', '--length', '16', '--epochs', '4', '--d-model', '8', '--layers', '1']);
  const losses = [...out.matchAll(/epoch \d+\/4: loss ([\d.]+)/g)].map((m) => Number(m[1]));
  expect(losses).toHaveLength(4);
  expect(losses[3]).toBeLessThan(losses[0]);
  expect(out).toMatch(/running mean\s+prediction/);
}, 90_000);

test('pretrainedLLM converts tiny-hf, loads it and generates the reference greedy sequences', async () => {
  const ref = await openReference('tiny-hf');
  const prompt = await ref.int('generate.prompt'); // (B, 5)
  const sequences = await ref.int('generate.sequences'); // (B, 21)
  await ref.file.close();
  const [b, p] = prompt.shape;
  const s = sequences.shape[1];
  const rows = Array.from({ length: b }, (_, i) => Array.from(prompt.data.slice(i * p, (i + 1) * p)));
  const out = await runExample('pretrainedLLM', ['--ids', rows.map((r) => r.join(',')).join(';'), '--max-tokens', String(s - p)]);
  expect(out).toMatch(/converted .*tiny-hf \(hf layout\): 22 weights/);
  expect(out).toMatch(/loaded with tf\.loadLayersModel/);
  for (let i = 0; i < b; i++) {
    const line = new RegExp(`^sequence ${i}: (.*)$`, 'm').exec(out);
    expect(line).not.toBeNull();
    expect((line as RegExpExecArray)[1].split(' ').map(Number)).toEqual(Array.from(sequences.data.slice(i * s, (i + 1) * s)));
  }
}, 90_000);

describe('examples/run.js answers a bad command line with one line', () => {
  /** Runs examples/run.js; resolves to its exit code, stdout and stderr. */
  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(root, 'examples/run.js'), ...args], { cwd: root, encoding: 'utf8' });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  test('an unknown example: the known ones, no stack trace', async () => {
    const r = await run(['nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('examples/run.js: no example "nope": expected one of pretrainedLLM, quickstart, sequentialRegression, worldModel\n');
  });

  test('EXAMPLE --help prints its flags; an unknown flag or a missing value is one line naming the accepted flags', async () => {
    const help = await run(['worldModel', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: node examples\/run\.js worldModel \[--episodes VALUE\] .*\[--backend VALUE\]/);
    expect(help.stderr).toBe('');
    const quick = await run(['quickstart', '--help']);
    expect(quick.stdout).toBe('usage: node examples/run.js quickstart [--backend VALUE]   (see examples/README.md)\n');
    const bogus = await run(['sequentialRegression', '--bogus', '1']);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toMatch(/^sequentialRegression: unknown flag --bogus; expected flags: --sequences .*--backend\n$/);
    const missing = await run(['worldModel', '--epochs']);
    expect(missing.stderr).toMatch(/^worldModel: flag --epochs expects a value; expected flags: /);
    expect(missing.stderr.split('\n')).toHaveLength(2);
  });
});
