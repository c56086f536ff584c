import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node'; // registers the layers and the file:// handler
import { readTrainState } from '../../src/cli/trainCheckpoint';
import { evaluate } from '../../src/cli/evaluate';
import { runTrain, validationRng, type TrainArgs } from '../../src/cli/train';
import { buildTask } from '../../src/cli/trainTask';
import { buildProgram } from '../../src/cli/main';
import { expectAllClose } from '../helpers/close';

/** A tiny selective-copying run: constant learning rate so a split run matches an unsplit one. */
const tiny: TrainArgs = {
  task: 'selective-copying',
  dModel: 16,
  nLayers: 1,
  dState: 4,
  seqLen: 8,
  nData: 2,
  vocab: 3,
  batch: 8,
  lr: 0.01,
  warmup: 0,
  minLrRatio: 1,
  evalEvery: 5,
  evalSize: 16,
  seed: 3,
  backend: 'cpu',
};

const io = { tty: false, handleSignals: false, log: (): void => undefined };

describe('mamba-tfjs train', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'train-'));

  it('trains, lowers the loss, and saves a checkpoint that loads', async () => {
    const out = path.join(root, 'a');
    const lines: string[] = [];
    await runTrain({ ...tiny, steps: 1, evalEvery: 0, out: path.join(root, 'warm') }, io); // backend and kernels set up
    const tensorsBefore = tf.memory().numTensors;
    const r = await runTrain({ ...tiny, steps: 30, out }, { ...io, log: (l) => lines.push(l) });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // model, optimizer and every step's tensors freed
    expect(r.step).toBe(30);
    expect(r.interrupted).toBe(false);
    const loss = r.history.train.loss;
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(loss.slice(-5))).toBeLessThan(mean(loss.slice(0, 5)) - 0.1);
    expect(r.history.val.step).toEqual([5, 10, 15, 20, 25, 30]);
    expect(lines.some((l) => l.startsWith('final accuracy:'))).toBe(true);
    for (const f of ['model.json', 'weights.bin', 'optimizer.bin', 'train-state.json', 'training.png']) {
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
    const task = buildTask(r.options);
    const again = await evaluate(model, task, validationRng(r.options.seed), r.options.evalSize);
    expect(again.accuracy).toBe(r.final.accuracy);
    expectAllClose([again.loss], [r.final.loss], 1e-5, 'validation loss of the reloaded model');
    model.dispose();
  });

  it('resumes from the saved step and matches an uninterrupted run', async () => {
    const split = path.join(root, 'split');
    const first = await runTrain({ ...tiny, steps: 6, out: split }, io);
    expect(first.step).toBe(6);
    expect(readTrainState(split).step).toBe(6);
    const second = await runTrain({ resume: true, steps: 10, out: split }, io);
    expect(second.step).toBe(10);
    expect(second.stepsThisRun).toBe(4);
    expect(second.options.dModel).toBe(16); // kept from the saved run
    expect(readTrainState(split).step).toBe(10);

    const whole = await runTrain({ ...tiny, steps: 10, out: path.join(root, 'whole') }, io);
    expect(second.history.train.step).toEqual(whole.history.train.step);
    expectAllClose(second.history.train.loss, whole.history.train.loss, 1e-4, 'losses of split vs whole run');
  });

  it('saves a checkpoint when interrupted (SIGINT) and resumes from it', async () => {
    const out = path.join(root, 'interrupted');
    let sent = false;
    const log = (line: string): void => {
      if (!sent && line.startsWith('step ')) {
        sent = true;
        process.emit('SIGINT', 'SIGINT'); // what Ctrl-C delivers
      }
    };
    const listeners = process.listenerCount('SIGINT');
    const r = await runTrain({ ...tiny, steps: 40, evalEvery: 0, out }, { tty: false, log });
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    expect(r.interrupted).toBe(true);
    expect(r.step).toBeLessThan(40);
    expect(readTrainState(out).step).toBe(r.step);
    const resumed = await runTrain({ resume: true, steps: r.step + 2, out }, io);
    expect(resumed.step).toBe(r.step + 2);
  });

  it('refuses to resume with a different architecture, or without a checkpoint', async () => {
    await expect(runTrain({ resume: true, dModel: 32, out: path.join(root, 'split') }, io)).rejects.toThrow(/--d-model: the run being resumed was trained with 16, got 32/);
    await expect(runTrain({ resume: true, out: path.join(root, 'nothing') }, io)).rejects.toThrow(/expected a checkpoint with train-state.json/);
  });

  it('stops with an error naming the step when the loss stops being finite', async () => {
    // A learning rate of 1e38 with no clipping overflows the weights within a few steps.
    const run = runTrain({ ...tiny, steps: 50, evalEvery: 0, lr: 1e38, warmup: 0, clipNorm: 0, out: path.join(root, 'nan') }, io);
    await expect(run).rejects.toThrow(/^step \d+: training diverged: expected a finite loss and gradient norm, got loss (NaN|-?Infinity)/);
  });

  it('parses the command line into the same options', async () => {
    const program = buildProgram().exitOverride();
    const train = program.commands.find((c) => c.name() === 'train');
    expect(train).toBeDefined();
    train!.exitOverride().configureOutput({ writeErr: () => undefined });
    let seen: Record<string, unknown> | undefined;
    train!.action((opts: Record<string, unknown>) => {
      seen = opts;
    });
    await program.parseAsync(['node', 'mamba-tfjs', 'train', '--task', 'induction-heads', '--d-model', '32', '--lr', '0.001', '--clip-norm', '0.5', '--resume']);
    expect(seen).toEqual({ task: 'induction-heads', dModel: 32, lr: 0.001, clipNorm: 0.5, resume: true });
    await expect(program.parseAsync(['node', 'mamba-tfjs', 'train', '--steps', 'x'])).rejects.toThrow(/expected an integer >= 1, got x/);
  });
});
