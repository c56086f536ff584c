/**
 * Training checkpoints are one step (issue #12, items 6-8): a child process training is killed at random points
 * (SIGKILL, mostly during the save that follows every step), then `--resume` either continues a consistent step or
 * fails with a clear error, never silently mixed; SIGTERM saves like Ctrl-C; two trainings on one --out take a
 * lock; --out and --data are checked before the first step.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import '../../src/index';
import { readTrainState, rollForwardCheckpoint, saveTrainCheckpoint } from '../../src/cli/trainCheckpoint';
import { runTrain } from '../../src/cli/train';
import { rng as seeded } from '../helpers/random';

const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(ROOT, '.build-dev', 'trainChild.js');
let tmp: string;

beforeAll(() => {
  execFileSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [
    path.join(ROOT, 'test/helpers/trainChild.ts'), '--bundle', '--platform=node', '--packages=external', `--outfile=${CHILD}`, '--log-level=warning',
  ]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-kill-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Starts the training child; `ready` resolves once the run is built (its "model:" line). */
function start(out: string, steps: number, resume = false): { child: ChildProcess; ready: Promise<void>; done: Promise<{ code: number | null; signal: string | null; output: string }> } {
  const child = spawn(process.execPath, [CHILD, out, String(steps), ...(resume ? ['resume'] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout!.on('data', (d) => {
    output += d;
    if (output.includes('model: ')) onReady();
  });
  child.stderr!.on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; signal: string | null; output: string }>((r) =>
    child.on('exit', (code, signal) => {
      onReady();
      r({ code, signal, output });
    }));
  return { child, ready, done };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LEFTOVER = /^(\.save\.tmp-|\.ckpt-staging\.tmp-|\.ckpt-pending$|\.train\.lock$)/;

/** Adam's iteration count, the first int32 of optimizer.bin: an independent record of the step. */
function optimizerStep(dir: string): number {
  return fs.readFileSync(path.join(dir, 'optimizer.bin')).readInt32LE(0);
}

test('SIGKILL at random points of training and saving: resume continues a consistent step or fails clearly', async () => {
  const rand = seeded(12);
  const counts = { trials: 0, resumed: 0, failedClearly: 0, noCheckpointYet: 0, killedMidSave: 0, rolledForward: 0 };
  for (let trial = 0; trial < 14; trial++) {
    const out = path.join(tmp, `kill-${trial}`);
    const run = start(out, 10_000);
    await run.ready;
    while (!fs.existsSync(path.join(out, 'train-state.json'))) await sleep(20); // the first checkpoint is saved
    await sleep(Math.floor(rand() * 1200)); // then a random point among the next steps and their saves
    run.child.kill('SIGKILL');
    await run.done;
    counts.trials++;
    const left = fs.readdirSync(out);
    if (left.some((n) => /^\.(ckpt-staging|save)\.tmp-|^\.ckpt-pending$|\.tmp$/.test(n))) counts.killedMidSave++;
    if (left.includes('.ckpt-pending')) counts.rolledForward++;
    rollForwardCheckpoint(out); // what a resume does first
    let step: number;
    try {
      step = readTrainState(out).step;
    } catch (e) {
      expect((e as Error).message).toMatch(/found none|mixed checkpoint/);
      if (/found none/.test((e as Error).message)) counts.noCheckpointYet++;
      else counts.failedClearly++;
      continue;
    }
    // The parts agree with one another: Adam's own step count and the curves end at the state's step.
    expect(optimizerStep(out)).toBe(step);
    const state = readTrainState(out);
    expect(state.history.train.step[state.history.train.step.length - 1]).toBe(step);
    const resumed = await start(out, step + 2, true).done;
    expect(resumed.output).toContain(`resumed ${out} at step ${step} of ${step + 2}`);
    expect(resumed.output).toContain(`finished at step ${step + 2}`);
    expect(resumed.code).toBe(0);
    expect(optimizerStep(out)).toBe(step + 2);
    expect(fs.readdirSync(out).filter((n) => LEFTOVER.test(n))).toEqual([]);
    counts.resumed++;
  }
  console.log(`kill trials: ${JSON.stringify(counts)}`);
  expect(counts.trials).toBe(14);
  expect(counts.resumed + counts.failedClearly + counts.noCheckpointYet).toBe(14);
  expect(counts.noCheckpointYet).toBe(0);
}, 300_000);

test('SIGTERM saves and stops like Ctrl-C; a second SIGTERM during the save still leaves one consistent step', async () => {
  for (const twice of [false, true]) {
    const out = path.join(tmp, `term-${twice}`);
    const run = start(out, 10_000);
    await run.ready;
    await sleep(800);
    run.child.kill('SIGTERM');
    if (twice) {
      await sleep(5);
      run.child.kill('SIGTERM');
    }
    const r = await run.done;
    expect(r.output).toMatch(/interrupted \(SIGTERM\): saving a checkpoint/);
    if (!twice) {
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/stopped at step \d+/);
    } else {
      expect([0, 143]).toContain(r.code);
    }
    rollForwardCheckpoint(out);
    const state = readTrainState(out);
    expect(optimizerStep(out)).toBe(state.step);
    expect(state.step).toBeGreaterThan(0);
  }
}, 120_000);

test('two trainings on one --out: the second names the holder; a dead holder\'s lock is taken over', async () => {
  const out = path.join(tmp, 'locked');
  const first = start(out, 10_000);
  await first.ready;
  const second = await start(out, 5).done;
  expect(second.code).toBe(1);
  expect(second.output).toContain(`error: --out ${out} is in use by another training (pid ${first.child.pid}, lock file ${out}/.train.lock)`);
  first.child.kill('SIGKILL');
  await first.done;
  expect(fs.readFileSync(path.join(out, '.train.lock'), 'utf8').trim()).toBe(String(first.child.pid)); // stale
  const third = await start(out, 3).done;
  expect(third.code).toBe(0);
  expect(third.output).toContain('finished at step 3');
  expect(fs.existsSync(path.join(out, '.train.lock'))).toBe(false);
}, 120_000);

describe('checked before the first step', () => {
  const base = { task: 'selective-copying' as const, dModel: 8, nLayers: 1, dState: 4, seqLen: 8, nData: 2, vocab: 3, batch: 2, steps: 1, evalEvery: 0, backend: 'cpu' };
  const io = { tty: false, handleSignals: false, log: (): void => undefined };

  test('--out that is a file, under /proc, or locked by a live process', async () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(runTrain({ ...base, out: file }, io)).rejects.toThrow(`--out ${file} exists and is not a directory (expected a checkpoint folder)`);
    await expect(runTrain({ ...base, out: '/proc/self/ckpt' }, io)).rejects.toThrow(/--out \/proc\/self\/ckpt: expected a directory on a real file system, got a path under \/proc/);
  });

  test('a mixed checkpoint and a negative step are refused on --resume', async () => {
    const out = path.join(tmp, 'mixed');
    await runTrain({ ...base, steps: 2, out }, io);
    const stateFile = path.join(out, 'train-state.json');
    const good = fs.readFileSync(stateFile, 'utf8');
    const optimizer = fs.readFileSync(path.join(out, 'optimizer.bin'));
    optimizer.writeInt32LE(1, 0); // the optimizer of another step
    fs.writeFileSync(path.join(out, 'optimizer.bin'), optimizer);
    await expect(runTrain({ resume: true, steps: 3, out }, io)).rejects.toThrow(/--resume: .*mixed is a mixed checkpoint: optimizer\.bin is not what train-state\.json \(step 2\) was saved with/);
    fs.writeFileSync(stateFile, good.replace('"step": 2', '"step": -3'));
    await expect(runTrain({ resume: true, steps: 3, out }, io)).rejects.toThrow(/train-state\.json: expected "step" to be a non-negative integer, got -3/);
    expect(saveTrainCheckpoint).toBeDefined();
  });

  test('--data pointing at /dev/zero or a FIFO is refused at once', async () => {
    const fifo = path.join(tmp, 'data.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [data, kind] of [['/dev/zero', 'character device'], [fifo, 'FIFO']]) {
      const t0 = Date.now();
      await expect(runTrain({ ...base, task: 'text', data, out: path.join(tmp, `text-${kind.length}`) }, io))
        .rejects.toThrow(`${data}: expected a text file for --data (a regular file), got a ${kind}`);
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  });
});
