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
  const out = await runExample('pretrainedLLM', ['--ids', rows.map((r) => r.join(',')).join(';'), '--max-new-tokens', String(s - p)]);
  expect(out).toMatch(/converted .*tiny-hf \(hf layout\): 22 weights/);
  expect(out).toMatch(/loaded with tf\.loadLayersModel/);
  for (let i = 0; i < b; i++) {
    const line = new RegExp(`^sequence ${i}: (.*)$`, 'm').exec(out);
    expect(line).not.toBeNull();
    expect((line as RegExpExecArray)[1].split(' ').map(Number)).toEqual(Array.from(sequences.data.slice(i * s, (i + 1) * s)));
  }
}, 90_000);
