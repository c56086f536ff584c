/**
 * `mamba-tfjs train`: trains a Mamba LM from the command line on the Mamba paper's synthetic tasks
 * (Selective Copying, Induction Heads) or byte-level text, with a progress bar, periodic validation
 * on fresh sequences, checkpoints (at the end, every --save-every steps, and on Ctrl-C), `--resume`,
 * and PNG curves beside the checkpoint.
 *
 * Tuning notes (selective copying defaults): see README/docs; the defaults in trainOptions.ts are
 * the scaled-down setting (context 64, 8 data tokens from 8 symbols, D=64, 2 layers, batch 32,
 * Adam 3e-3 with warm-up and cosine decay, clip 1).
 */
import * as path from 'path';
import '@tensorflow/tfjs'; // the pure-JS CPU backend (and the rest of the union package)
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createMambaLM, selectBackend } from '../index';
import { Rng } from '../tasks/rng';
import { emptyHistory, loadTrainCheckpoint, readTrainState, saveTrainCheckpoint, type TrainHistory } from './checkpoint';
import { evaluate, type EvalResult } from './evaluate';
import { evaluateExtrapolation, formatExtrapolationTable, type ExtrapolationRow } from './extrapolation';
import { writeJsonAtomic } from './atomicWrite';
import { pct, TrainProgress } from './progress';
import { writeExtrapolationChart, writeTrainingChart } from './trainCharts';
import { defaultOptions, learningRate, resolveOptions, SCAN_MODES, TASK_NAMES, type TrainOptions } from './trainOptions';
import { buildTask, describeTask } from './trainTask';
import { setLearningRate, trainableVariables, trainStep } from './trainStep';

/** Options of {@link runTrain} as given: anything left undefined takes the default (or the resumed run's value). */
export type TrainArgs = Partial<TrainOptions> & { /** Continue the run saved in `out`. */ resume?: boolean };

/** How {@link runTrain} talks to the outside. */
export interface TrainIO {
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
  /** Live progress bar (default: process.stdout.isTTY). */
  tty?: boolean;
  /** Save and stop on SIGINT (default true). */
  handleSignals?: boolean;
}

/** What a training run produced. */
export interface TrainResult {
  options: TrainOptions;
  /** Optimizer steps done in total, and in this call. */
  step: number;
  stepsThisRun: number;
  /** True when stopped by Ctrl-C before `steps`. */
  interrupted: boolean;
  /** True when stopped early because validation reached --target-accuracy. */
  reachedTarget: boolean;
  /** Validation at the end. */
  final: EvalResult;
  history: TrainHistory;
  /** Files written. */
  outDir: string;
  charts: string[];
  /** Induction heads only: accuracy at T, 2T, ... 16T. */
  extrapolation?: ExtrapolationRow[];
  /** Seconds spent in training steps, over all sessions of the run. */
  trainSeconds: number;
}

/** Offsets that give the validation and extrapolation streams their own seeds. */
const VAL_SEED_OFFSET = 1_000_003;
const EXTRAPOLATION_SEED_OFFSET = 2_000_003;

/** The stream of validation sequences of a run with this seed (the same sequences at every validation). */
export function validationRng(seed: number): Rng {
  return new Rng(seed + VAL_SEED_OFFSET);
}

/**
 * The backend when --backend is not given: $MAMBA_TFJS_BACKEND, else wasm when
 * @tensorflow/tfjs-backend-wasm is installed (about 4-8x faster than cpu for these models), else cpu.
 */
export function defaultTrainBackend(): string {
  if (process.env.MAMBA_TFJS_BACKEND) return process.env.MAMBA_TFJS_BACKEND;
  try {
    require.resolve('@tensorflow/tfjs-backend-wasm');
    return 'wasm';
  } catch {
    return 'cpu';
  }
}

/** Silences tfjs-backend-cpu's one-time "install tfjs-node" banner: this package is pure tfjs on purpose. */
function quietCpuBanner(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

/** Writes the charts, warning instead of failing (e.g. on a platform without a resvg binary). */
function tryChart(log: (l: string) => void, what: string, draw: () => string): string[] {
  try {
    return [draw()];
  } catch (e) {
    log(`warning: could not write the ${what} chart: ${(e as Error).message}`);
    return [];
  }
}

/**
 * Trains (or resumes) a model as the `train` subcommand does; see {@link TrainOptions} for the options.
 * Never calls process.exit; a Ctrl-C saves a checkpoint and returns with `interrupted: true`.
 */
export async function runTrain(args: TrainArgs, io: TrainIO = {}): Promise<TrainResult> {
  const log = io.log ?? ((l: string) => console.log(l));
  const { resume, ...given } = args;
  const outDir = given.out ?? defaultOptions(given.task ?? 'selective-copying').out;
  const saved = resume ? readTrainState(outDir) : undefined;
  const o = resolveOptions({ ...given, out: outDir }, saved?.options);
  const backend = await selectBackend(o.backend ?? defaultTrainBackend());
  quietCpuBanner();
  const task = buildTask(o);
  log(`mamba-tfjs train | backend ${backend} | ${describeTask(o, task)}`);

  const optimizer = tf.train.adam(o.lr);
  let model: tfl.LayersModel;
  let step = 0;
  let rng = new Rng(o.seed);
  let history = emptyHistory();
  let trainSeconds = 0;
  let lastEval: EvalResult | undefined;
  if (saved) {
    model = await loadTrainCheckpoint(outDir, saved, optimizer);
    step = saved.step;
    rng = Rng.fromState(saved.rngState);
    history = saved.history;
    trainSeconds = saved.trainSeconds;
    lastEval = saved.lastEval;
    log(`resumed ${outDir} at step ${step} of ${o.steps}`);
  } else {
    model = createMambaLM({
      vocabSize: task.vocabSize,
      dModel: o.dModel,
      nLayers: o.nLayers,
      dState: o.dState,
      expandFactor: o.expand,
      dConv: o.dConv,
      scanMode: o.scanMode,
      seed: o.seed,
    });
  }
  log(`model: D=${o.dModel}, ${o.nLayers} layers, N=${o.dState}, E=${o.expand}, ${model.countParams()} parameters; batch ${o.batch}, lr ${o.lr}, ${o.steps} steps`);

  const save = async (): Promise<void> => {
    await saveTrainCheckpoint(outDir, model, optimizer, { step, rngState: rng.state, options: o, history, trainSeconds, lastEval });
  };
  const validate = async (): Promise<EvalResult> => {
    const r = await evaluate(model, task, validationRng(o.seed), o.evalSize);
    const v = history.val;
    if (v.step[v.step.length - 1] !== step) {
      v.step.push(step);
      v.loss.push(r.loss);
      v.accuracy.push(r.accuracy);
      v.seqAccuracy.push(r.seqAccuracy);
    }
    lastEval = r;
    return r;
  };

  const startStep = step;
  const vars = trainableVariables(model);
  const progress = new TrainProgress(step, o.steps, { tty: io.tty, log });
  let interrupted = false;
  let reachedTarget = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.note('interrupted: saving a checkpoint after this step (Ctrl-C again to quit without saving)');
  };
  if (io.handleSignals !== false) process.on('SIGINT', onSigint);
  try {
    let tps = 0;
    while (step < o.steps && !interrupted && !reachedTarget) {
      const t0 = performance.now();
      const lr = learningRate(o, step);
      setLearningRate(optimizer, lr);
      const batch = task.sample(rng, o.batch);
      const r = await trainStep(model, optimizer, vars, batch, o.clipNorm);
      step++;
      const dt = (performance.now() - t0) / 1000;
      trainSeconds += dt;
      const rate = (batch.batch * batch.length) / Math.max(dt, 1e-9);
      tps = tps === 0 ? rate : 0.9 * tps + 0.1 * rate;
      history.train.step.push(step);
      history.train.loss.push(r.loss);
      history.train.accuracy.push(r.accuracy);
      progress.update({ step, loss: r.loss, accuracy: r.accuracy, tokensPerSec: tps, lr });
      if (o.evalEvery > 0 && step % o.evalEvery === 0 && step < o.steps) {
        const v = await validate();
        progress.note(`step ${step}: validation loss ${v.loss.toFixed(4)}, accuracy ${pct(v.accuracy)} (sequences ${pct(v.seqAccuracy)})`);
        if (o.targetAccuracy > 0 && v.accuracy >= o.targetAccuracy) {
          reachedTarget = true;
          progress.note(`step ${step}: reached the target accuracy ${pct(o.targetAccuracy)}; stopping`);
        }
      }
      if (o.saveEvery > 0 && step % o.saveEvery === 0 && step < o.steps) await save();
      await new Promise((resolve) => setImmediate(resolve)); // lets a pending SIGINT be handled
    }
  } finally {
    progress.stop();
    if (io.handleSignals !== false) process.off('SIGINT', onSigint);
  }

  const final = await validate();
  await save();
  log(`${interrupted ? 'stopped' : reachedTarget ? 'target reached' : 'done'} at step ${step}/${o.steps}; checkpoint saved to ${path.join(outDir, 'model.json')}`);
  const charts = tryChart(log, 'training', () => writeTrainingChart(path.join(outDir, 'training.png'), history, o.task));

  let extrapolation: ExtrapolationRow[] | undefined;
  if (o.task === 'induction-heads' && !interrupted) {
    log('extrapolation (fresh sequences at multiples of the training length):');
    extrapolation = await evaluateExtrapolation(model, task, o.evalSize, o.seed + EXTRAPOLATION_SEED_OFFSET);
    log(formatExtrapolationTable(extrapolation, task.seqLen));
    writeJsonAtomic(path.join(outDir, 'extrapolation.json'), { trainLength: task.seqLen, rows: extrapolation });
    const rows = extrapolation;
    charts.push(...tryChart(log, 'extrapolation', () => writeExtrapolationChart(path.join(outDir, 'extrapolation.png'), rows, task.seqLen)));
  }
  if (charts.length) log(`charts: ${charts.join(', ')}`);
  log(`final accuracy: ${pct(final.accuracy)} of answer tokens (sequences fully right: ${pct(final.seqAccuracy)}) on ${final.sequences} held-out sequences; loss ${final.loss.toFixed(4)}`);
  return { options: o, step, stepsThisRun: step - startStep, interrupted, reachedTarget, final, history, outDir, charts, extrapolation, trainSeconds };
}

/** Parses a positive or non-negative integer option. */
function intArg(min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got ${v}`);
    return n;
  };
}

/** Parses a number option. */
function numArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got ${v}`);
  return n;
}

/** Registers the `train` subcommand on the program. */
export function registerTrain(program: Command): void {
  const d = defaultOptions('selective-copying');
  const ih = defaultOptions('induction-heads');
  const tx = defaultOptions('text');
  program
    .command('train')
    .description("train a Mamba LM on the Mamba paper's synthetic tasks (selective copying, induction heads) or a text file")
    .addOption(new Option('--task <name>', 'task to train on').choices([...TASK_NAMES]))
    .option('--data <file>', 'text file for --task text (byte-level, last 10% held out)')
    .option('--d-model <n>', `model width D (default ${d.dModel}; text ${tx.dModel})`, intArg(1))
    .option('--n-layers <n>', `Mamba blocks (default ${d.nLayers}; text ${tx.nLayers})`, intArg(1))
    .option('--d-state <n>', `SSM state size N (default ${d.dState})`, intArg(1))
    .option('--expand <n>', `expansion factor E (default ${d.expand})`, intArg(1))
    .option('--d-conv <n>', `causal conv width (default ${d.dConv})`, intArg(1))
    .addOption(new Option('--scan-mode <mode>', `scan implementation (default ${d.scanMode})`).choices([...SCAN_MODES]))
    .option('--seq-len <n>', `selective copying: context length before the answers (default ${d.seqLen}); others: sequence length (default ${ih.seqLen}; text ${tx.seqLen})`, intArg(1))
    .option('--n-data <n>', `selective copying: data tokens to copy (default ${d.nData})`, intArg(1))
    .option('--vocab <n>', `selective copying: data symbols (default ${d.vocab}); induction heads: symbols (default ${ih.vocab})`, intArg(1))
    .option('--batch <n>', `sequences per step (default ${d.batch}; text ${tx.batch})`, intArg(1))
    .option('--steps <n>', `total optimizer steps (default ${d.steps}; induction heads ${ih.steps}; text ${tx.steps})`, intArg(1))
    .option('--lr <x>', `peak Adam learning rate (default ${d.lr}; text ${tx.lr})`, numArg)
    .option('--warmup <n>', `linear warm-up steps (default ${d.warmup})`, intArg(0))
    .option('--min-lr-ratio <x>', `cosine decay ends at lr * this (default ${d.minLrRatio}; 1 = constant)`, numArg)
    .option('--clip-norm <x>', `clip gradients to this global norm, 0 = off (default ${d.clipNorm})`, numArg)
    .option('--eval-every <n>', `validate every n steps, 0 = only at the end (default ${d.evalEvery})`, intArg(0))
    .option('--eval-size <n>', `held-out sequences per validation (default ${d.evalSize}; text ${tx.evalSize})`, intArg(1))
    .option('--target-accuracy <x>', 'stop once a validation reaches this answer accuracy, e.g. 0.99 (default 0 = run all steps)', numArg)
    .option('--save-every <n>', 'also checkpoint every n steps (default 0 = at the end and on Ctrl-C)', intArg(0))
    .option('--backend <name>', 'cpu | wasm | webgpu | tensorflow (default $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu)')
    .option('--out <dir>', 'checkpoint folder (default checkpoints/<task>)')
    .option('--seed <n>', `seed of weights and data (default ${d.seed})`, intArg(0))
    .option('--resume', 'continue the run saved in --out (its options are kept; --steps may be raised)')
    .action(async (opts: TrainArgs) => {
      const result = await runTrain(opts);
      if (result.interrupted) process.exitCode = 130;
    });
}
