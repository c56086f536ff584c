/**
 * `mamba-tfjs train`: trains a Mamba LM from the command line on the Mamba paper's synthetic tasks
 * (Selective Copying, Induction Heads) or byte-level text, with a progress bar, periodic validation
 * on fresh sequences, checkpoints (at the end, every --save-every steps, and on Ctrl-C), `--resume`,
 * and PNG curves beside the checkpoint.
 *
 * Tuning notes (the defaults in trainOptions.ts). Selective copying learns through an abrupt
 * transition whose step varies with the seed, so the defaults leave about 2x headroom over the median.
 * Sweep on one CPU core per run, wasm backend, context 32 / 4 data tokens / 16 symbols, batch 32:
 * - D=32 N=8, lr 3e-3, 1500 steps: 3 of 5 seeds >= 97% (others 72%, 24%); 0.16 s a step.
 * - D=48 N=8, lr 3e-3, 1200 steps: 3 of 3 seeds >= 97% (97.3, 100, 99.4%); 0.21 s a step. Chosen,
 *   with 2000 steps (~7 min on one core, plus validation).
 * - D=64 N=8, lr 3e-3, 1000 steps: 3 of 5 seeds >= 97%; 0.40-0.47 s a step (too slow for 10 min
 *   with more steps). Batch 16 (1500 steps): 2 of 3.
 * - Context 64 with 8 data tokens (D=32..64) had not left the plateau after 500 s; use more steps.
 * - The cpu backend was 4-8x slower than wasm here, hence selectBackend's default of wasm when installed.
 * Induction heads, T=64, 16 symbols, D=32 N=8: 100% validation by step 400 (T=32: extrapolates to
 * 8T at 100% and 16T at 89%).
 */
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { TrainHistory } from './trainCheckpoint';
import { StopSignals } from './trainSignals';
import type { EvalResult } from './evaluate';
import { evaluateExtrapolation, formatExtrapolationTable, type ExtrapolationRow } from './extrapolation';
import { writeJsonAtomicSync } from '../io/files';
import { pct, TrainProgress } from './progress';
import { writeExtrapolationChart, writeTrainingChart } from './trainCharts';
import { ARCH_NAMES, defaultOptions, learningRate, SCAN_MODES, TASK_NAMES, type TrainOptions } from './trainOptions';
import { TrainRun, type TrainArgs } from './trainRun';
import { setLearningRate, trainableVariables, trainStep } from './trainStep';
import { formatSample, sampleText } from './textSample';

export { validationRng, type TrainArgs } from './trainRun';

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
  /** Checkpoint folder, and the charts written into it. */
  outDir: string;
  charts: string[];
  /** Induction heads only: accuracy at T, 2T, ... 16T. */
  extrapolation?: ExtrapolationRow[];
  /** Seconds spent in training steps, over all sessions of the run. */
  trainSeconds: number;
}

/** Offset that gives the extrapolation test sequences their own seed. */
const EXTRAPOLATION_SEED_OFFSET = 2_000_003;

/** Writes a chart, warning instead of failing (e.g. on a platform without a resvg binary). */
function tryChart(log: (l: string) => void, what: string, draw: () => string): string[] {
  try {
    return [draw()];
  } catch (e) {
    log(`warning: could not write the ${what} chart: ${(e as Error).message}`);
    return [];
  }
}

/** The validation line: loss and accuracy, and for the synthetic tasks the fraction of sequences fully right. */
function validationLine(o: TrainOptions, v: EvalResult): string {
  const seqs = o.task === 'text' ? '' : ` (sequences ${pct(v.seqAccuracy)})`;
  return `validation loss ${v.loss.toFixed(4)}, accuracy ${pct(v.accuracy)}${seqs}`;
}

/** For text: a sample of the model's writing (a failure to sample is reported, never fatal). */
async function textSampleLine(run: TrainRun): Promise<string | null> {
  if (run.options.task !== 'text') return null;
  try {
    return formatSample(await sampleText(run.model, run.task, run.options.seed));
  } catch (e) {
    return `sample: could not generate: ${(e as Error).message}`;
  }
}

/** Why the step loop ended early, if it did. */
interface LoopEnd {
  interrupted: boolean;
  reachedTarget: boolean;
}

/** Trains until `steps`, a Ctrl-C, or the target accuracy; validates and checkpoints on the way. */
async function trainLoop(run: TrainRun, signals: StopSignals, io: TrainIO, log: (l: string) => void): Promise<LoopEnd> {
  const o = run.options;
  const vars = trainableVariables(run.model);
  const progress = new TrainProgress(run.step, o.steps, { tty: io.tty, log });
  const end: LoopEnd = { interrupted: false, reachedTarget: false };
  signals.note = (line) => progress.note(line);
  try {
    let tps = 0;
    while (run.step < o.steps && !signals.interrupted && !end.reachedTarget) {
      const t0 = performance.now();
      const lr = learningRate(o, run.step);
      setLearningRate(run.optimizer, lr);
      const batch = run.task.sample(run.rng, o.batch);
      let r;
      try {
        r = await trainStep(run.model, run.optimizer, vars, batch, o.clipNorm);
      } catch (e) {
        // A non-finite loss stops training before the update, naming the step (the weights stay as they were).
        throw new Error(`step ${run.step + 1}: ${(e as Error).message}`);
      }
      run.step++;
      const dt = (performance.now() - t0) / 1000;
      run.trainSeconds += dt;
      const rate = (batch.batch * batch.length) / Math.max(dt, 1e-9);
      tps = tps === 0 ? rate : 0.9 * tps + 0.1 * rate;
      run.record(r.loss, r.accuracy);
      progress.update({ step: run.step, loss: r.loss, accuracy: r.accuracy, tokensPerSec: tps, lr });
      if (o.evalEvery > 0 && run.step % o.evalEvery === 0 && run.step < o.steps) {
        const v = await run.validate();
        progress.note(`step ${run.step}: ${validationLine(o, v)}`);
        const sample = await textSampleLine(run);
        if (sample) progress.note(`step ${run.step}: ${sample}`);
        if (o.targetAccuracy > 0 && v.accuracy >= o.targetAccuracy) {
          end.reachedTarget = true;
          progress.note(`step ${run.step}: reached the target accuracy ${pct(o.targetAccuracy)}; stopping`);
        }
      }
      if (o.saveEvery > 0 && run.step % o.saveEvery === 0 && run.step < o.steps) await signals.guardSave(() => run.save());
      await new Promise((resolve) => setImmediate(resolve)); // lets a pending SIGINT be handled
    }
  } finally {
    progress.stop();
    signals.note = log;
  }
  end.interrupted = signals.interrupted;
  return end;
}

/**
 * Trains (or resumes) a model as the `train` subcommand does; see {@link TrainOptions} for the options.
 * Never calls process.exit (except on a second Ctrl-C); a Ctrl-C saves a checkpoint and returns with
 * `interrupted: true`. The model is disposed before returning: load the checkpoint to use it.
 */
export async function runTrain(args: TrainArgs, io: TrainIO = {}): Promise<TrainResult> {
  const log = io.log ?? ((l: string) => console.log(l));
  const run = await TrainRun.open(args, log);
  const signals = new StopSignals(log);
  if (io.handleSignals !== false) signals.install(); // SIGINT and SIGTERM, through the final save
  try {
    const o = run.options;
    const startStep = run.step;
    const { interrupted, reachedTarget } = await trainLoop(run, signals, io, log);
    const final = await run.validate();
    await signals.guardSave(() => run.save());
    const verb = interrupted ? 'stopped' : reachedTarget ? 'target reached' : 'done';
    log(`${verb} at step ${run.step}/${o.steps}; checkpoint saved to ${path.join(o.out, 'model.json')}`);
    const charts = tryChart(log, 'training', () => writeTrainingChart(path.join(o.out, 'training.png'), run.history, o.task));

    let extrapolation: ExtrapolationRow[] | undefined;
    if (o.task === 'induction-heads' && !interrupted) {
      log('extrapolation (fresh sequences at multiples of the training length):');
      const rows = await evaluateExtrapolation(run.model, run.task, o.evalSize, o.seed + EXTRAPOLATION_SEED_OFFSET);
      log(formatExtrapolationTable(rows, run.task.seqLen));
      writeJsonAtomicSync(path.join(o.out, 'extrapolation.json'), { trainLength: run.task.seqLen, rows });
      charts.push(...tryChart(log, 'extrapolation', () => writeExtrapolationChart(path.join(o.out, 'extrapolation.png'), rows, run.task.seqLen)));
      extrapolation = rows;
    }
    if (charts.length) log(`charts: ${charts.join(', ')}`);
    if (o.task === 'text') {
      const sample = await textSampleLine(run);
      if (sample) log(sample);
      log(`final accuracy: ${pct(final.accuracy)} of next bytes on ${final.sequences} held-out sequences; loss ${final.loss.toFixed(4)}`);
      log(`sample it: mamba-tfjs generate --model ${o.out} --prompt "…"`);
    } else {
      log(`final accuracy: ${pct(final.accuracy)} of answer tokens (sequences fully right: ${pct(final.seqAccuracy)}) on ${final.sequences} held-out sequences; loss ${final.loss.toFixed(4)}`);
    }
    return {
      options: o,
      step: run.step,
      stepsThisRun: run.step - startStep,
      interrupted,
      reachedTarget,
      final,
      history: run.history,
      outDir: o.out,
      charts,
      extrapolation,
      trainSeconds: run.trainSeconds,
    };
  } finally {
    signals.uninstall();
    run.dispose();
  }
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
    .description("train a Mamba or Mamba-2 LM on the Mamba paper's synthetic tasks (selective copying, induction heads) or a text file")
    .addOption(new Option('--task <name>', 'task to train on').choices([...TASK_NAMES]))
    .option('--data <file>', 'text file for --task text (byte-level, last 10% held out)')
    .addOption(new Option('--arch <name>', `model family: mamba (selective scan) or mamba2 (SSD) (default ${d.arch})`).choices([...ARCH_NAMES]))
    .option('--d-model <n>', `model width D (default ${d.dModel}; text ${tx.dModel})`, intArg(1))
    .option('--n-layers <n>', `Mamba blocks (default ${d.nLayers}; text ${tx.nLayers})`, intArg(1))
    .option('--d-state <n>', `SSM state size N (default ${d.dState})`, intArg(1))
    .option('--expand <n>', `expansion factor E (default ${d.expand})`, intArg(1))
    .option('--d-conv <n>', `causal conv width (default ${d.dConv})`, intArg(1))
    .addOption(new Option('--scan-mode <mode>', `scan implementation (default ${d.scanMode}; mamba2: auto, chunked, sequential)`).choices([...SCAN_MODES]))
    .option('--head-dim <n>', `mamba2: head dim P, dividing expand·d-model (default ${d.headDim})`, intArg(1))
    .option('--chunk-size <n>', `mamba2: chunk length of the SSD scan (default ${d.chunkSize})`, intArg(1))
    .option('--seq-len <n>', `selective copying: context length before the answers (default ${d.seqLen}); others: sequence length (default ${ih.seqLen}; text ${tx.seqLen})`, intArg(1))
    .option('--n-data <n>', `selective copying: data tokens to copy (default ${d.nData})`, intArg(1))
    .option('--vocab <n>', `selective copying: data symbols (default ${d.vocab}); induction heads: symbols (default ${ih.vocab})`, intArg(1))
    .option('--batch <n>', `sequences per step (default ${d.batch}; text ${tx.batch})`, intArg(1))
    .option('--steps <n>', `total optimizer steps (default ${d.steps}; induction heads ${ih.steps}; text ${tx.steps})`, intArg(1))
    .option('--lr <x>', `peak Adam learning rate (default ${d.lr}; text ${tx.lr})`, numArg)
    .option('--warmup <n>', `linear warm-up steps (default ${d.warmup})`, intArg(0))
    .option('--min-lr-ratio <x>', `cosine decay ends at lr * this (default ${d.minLrRatio}; 1 = constant)`, numArg)
    .option('--clip-norm <x>', `clip gradients to this global norm, 0 = off (default ${d.clipNorm})`, numArg)
    .option('--eval-every <n>', `validate every n steps, 0 = only at the end (default ${d.evalEvery}; text: a tenth of --steps, at most ${tx.evalEvery})`, intArg(0))
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
