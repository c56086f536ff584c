/**
 * Options of `mamba-tfjs train`: their types, per-task defaults, and how saved options of a run
 * being resumed combine with the ones given on the command line.
 */

/** Tasks the trainer knows. */
export const TASK_NAMES = ['selective-copying', 'induction-heads', 'text'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Model families the trainer builds: Mamba (selective scan) or Mamba-2 (SSD). */
export const ARCH_NAMES = ['mamba', 'mamba2'] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

/** Scan implementations the models accept (MambaConfig.scanMode, Mamba2Config.scanMode). */
export const SCAN_MODES = ['auto', 'fused', 'pscan', 'chunked', 'sequential'] as const;
export type ScanModeName = (typeof SCAN_MODES)[number];

/** The scan modes each architecture accepts. */
export const ARCH_SCAN_MODES: Record<ArchName, readonly ScanModeName[]> = {
  mamba: ['auto', 'fused', 'pscan', 'sequential'],
  mamba2: ['auto', 'chunked', 'sequential'],
};

/** Every option of a training run, resolved. */
export interface TrainOptions {
  /** Which task to train on. */
  task: TaskName;
  /** Text file for the `text` task. */
  data?: string;
  /** Model family (default mamba). */
  arch: ArchName;
  /** Model width D. */
  dModel: number;
  /** Number of Mamba blocks. */
  nLayers: number;
  /** SSM state size N. */
  dState: number;
  /** Expansion factor E (inner width E*D). */
  expand: number;
  /** Causal conv width K. */
  dConv: number;
  /** Scan implementation. */
  scanMode: ScanModeName;
  /** Mamba-2: head dim P (H = E·D / P heads). */
  headDim: number;
  /** Mamba-2: chunk length Q of the chunked (SSD) scan. */
  chunkSize: number;
  /** Selective copying: context length (noise + data) before the markers; other tasks: sequence length T. */
  seqLen: number;
  /** Selective copying: number of data tokens to copy. */
  nData: number;
  /** Selective copying: data symbols; induction heads: ordinary symbols. Unused for text. */
  vocab: number;
  /** Sequences per step. */
  batch: number;
  /** Total optimizer steps (a resumed run continues up to this count). */
  steps: number;
  /** Peak learning rate of Adam. */
  lr: number;
  /** Linear warm-up steps; after them the rate follows a cosine down to lr * minLrRatio at `steps`. */
  warmup: number;
  /** Final learning rate as a fraction of `lr` (1 = constant). */
  minLrRatio: number;
  /** Clip gradients to this global L2 norm (0 = off). */
  clipNorm: number;
  /** Validate every this many steps (0 = only at the end). */
  evalEvery: number;
  /** Held-out sequences per validation. */
  evalSize: number;
  /** Stop once a validation reaches this answer accuracy (0 = never; train all `steps`). */
  targetAccuracy: number;
  /** tfjs backend (cpu, wasm, webgpu, tensorflow); default: $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu. */
  backend?: string;
  /** Checkpoint folder. */
  out: string;
  /** Seed of the weights and of the data stream. */
  seed: number;
  /** Save a checkpoint every this many steps as well as at the end (0 = only at the end). */
  saveEvery: number;
}

/** Options that fix the model or the data layout: a resumed run must keep them. */
export const ARCH_KEYS = ['task', 'arch', 'headDim', 'chunkSize', 'dModel', 'nLayers', 'dState', 'expand', 'dConv', 'seqLen', 'nData', 'vocab'] as const;

/**
 * Defaults per task, from a sweep of the real trainer (wasm backend, one core per run; see the
 * tuning notes at the top of train.ts). Selective copying: context 32 with 4 data tokens from 16
 * symbols, D=48, N=8, 2 layers, batch 32, 2000 steps; about 0.2 s a step on one core, so ~7 min.
 * Induction heads: T=64, 16 symbols, D=32, N=8; reached 100% by step ~1000 in the sweep.
 */
export function defaultOptions(task: TaskName): TrainOptions {
  const common = {
    task,
    arch: 'mamba' as ArchName,
    headDim: 16,
    chunkSize: 32,
    dState: 16,
    expand: 2,
    dConv: 4,
    scanMode: 'auto' as ScanModeName,
    warmup: 50,
    minLrRatio: 0.1,
    clipNorm: 1,
    seed: 0,
    saveEvery: 0,
    targetAccuracy: 0,
    out: `checkpoints/${task}`,
  };
  switch (task) {
    case 'selective-copying':
      return { ...common, dModel: 48, dState: 8, nLayers: 2, seqLen: 32, nData: 4, vocab: 16, batch: 32, steps: 2000, lr: 3e-3, evalEvery: 100, evalSize: 256 };
    case 'induction-heads':
      return { ...common, dModel: 32, dState: 8, nLayers: 2, seqLen: 64, nData: 0, vocab: 16, batch: 32, steps: 1000, lr: 3e-3, evalEvery: 100, evalSize: 256 };
    case 'text':
      return { ...common, dModel: 128, nLayers: 4, seqLen: 128, nData: 0, vocab: 0, batch: 16, steps: 2000, lr: 2e-3, evalEvery: 200, evalSize: 64 };
  }
}

/** Throws unless `v` is a positive integer (or non-negative when `allowZero`). */
function checkInt(name: string, v: unknown, allowZero = false): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new Error(`--${name}: expected a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  }
}

/** Checks every field of resolved options; throws naming the expected and actual value. */
export function validateOptions(o: TrainOptions): void {
  if (!TASK_NAMES.includes(o.task)) throw new Error(`--task: expected one of ${TASK_NAMES.join(', ')}, got ${String(o.task)}`);
  if (!ARCH_NAMES.includes(o.arch)) throw new Error(`--arch: expected one of ${ARCH_NAMES.join(', ')}, got ${String(o.arch)}`);
  const modes = ARCH_SCAN_MODES[o.arch];
  if (!modes.includes(o.scanMode)) throw new Error(`--scan-mode: expected one of ${modes.join(', ')} for --arch ${o.arch}, got ${String(o.scanMode)}`);
  checkInt('head-dim', o.headDim);
  checkInt('chunk-size', o.chunkSize);
  if (o.arch === 'mamba2' && (o.expand * o.dModel) % o.headDim !== 0) {
    throw new Error(`--head-dim: expected a divisor of expand·d-model = ${o.expand * o.dModel}, got ${o.headDim}`);
  }
  if (o.task === 'text' && !o.data) throw new Error('--data: expected a text file for --task text, got none');
  for (const k of ['dModel', 'nLayers', 'dState', 'expand', 'dConv', 'seqLen', 'batch', 'steps', 'evalSize'] as const) checkInt(kebab(k), o[k]);
  for (const k of ['warmup', 'evalEvery', 'saveEvery', 'seed'] as const) checkInt(kebab(k), o[k], true);
  if (o.task === 'selective-copying') {
    checkInt('n-data', o.nData);
    checkInt('vocab', o.vocab);
  }
  if (o.task === 'induction-heads') checkInt('vocab', o.vocab);
  if (!(o.lr > 0)) throw new Error(`--lr: expected a positive number, got ${o.lr}`);
  if (!(o.clipNorm >= 0)) throw new Error(`--clip-norm: expected a number >= 0, got ${o.clipNorm}`);
  if (!(o.targetAccuracy >= 0 && o.targetAccuracy <= 1)) throw new Error(`--target-accuracy: expected a number in [0, 1], got ${o.targetAccuracy}`);
  if (!(o.minLrRatio >= 0 && o.minLrRatio <= 1)) throw new Error(`--min-lr-ratio: expected a number in [0, 1], got ${o.minLrRatio}`);
}

/** camelCase option name to its kebab-case flag. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Final options: task defaults, then the saved options of the run being resumed (if any), then the
 * options given explicitly. Giving an architecture option that differs from the saved run's throws.
 */
export function resolveOptions(given: Partial<TrainOptions>, saved?: TrainOptions): TrainOptions {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<TrainOptions>;
  if (saved) {
    for (const k of ARCH_KEYS) {
      const was = saved[k] ?? defaultOptions(saved.task)[k]; // a run saved before the option existed had its default
      if (defined[k] !== undefined && defined[k] !== was) {
        throw new Error(`--${kebab(k)}: the run being resumed was trained with ${String(was)}, got ${String(defined[k])}`);
      }
    }
  }
  const task = defined.task ?? saved?.task ?? 'selective-copying';
  const o: TrainOptions = { ...defaultOptions(task), ...(saved ?? {}), ...defined };
  if (!saved && defined.evalEvery === undefined && task === 'text') o.evalEvery = textEvalEvery(o.steps, o.evalEvery);
  validateOptions(o);
  return o;
}

/**
 * Validation interval of a text run given no --eval-every: about ten validations (each with a text sample) during
 * the run, at most every `cap` steps — so that a short run is validated during training, not only at the end.
 */
export function textEvalEvery(steps: number, cap: number): number {
  return Math.max(1, Math.min(cap, Math.floor(steps / 10)));
}

/** Learning rate at a step: linear warm-up, then cosine decay to lr * minLrRatio at `steps`. */
export function learningRate(o: Pick<TrainOptions, 'lr' | 'warmup' | 'steps' | 'minLrRatio'>, step: number): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const span = Math.max(1, o.steps - o.warmup);
  const t = Math.min(1, (step - o.warmup) / span);
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
