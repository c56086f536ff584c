/**
 * MambaConfig: mamba.py's configuration in camelCase, with its defaults, and the derived sizes.
 */

/** Fields of a Mamba stack (mamba.py's MambaConfig). */
export interface MambaConfig {
  /** D: model width. */
  dModel: number;
  /** Number of residual blocks. */
  nLayers: number;
  /** R: rank of the Δ projection; 'auto' = ⌈dModel / 16⌉. */
  dtRank?: number | 'auto';
  /** N: state size per channel (default 16). */
  dState?: number;
  /** E: expansion factor, ED = E·D (default 2). */
  expandFactor?: number;
  /** K: width of the causal depthwise conv (default 4). */
  dConv?: number;
  /** Smallest initial Δ (default 0.001). */
  dtMin?: number;
  /** Largest initial Δ (default 0.1). */
  dtMax?: number;
  /** Initialization of dt_proj's weight: 'random' U(±R^−0.5·dtScale) or 'constant' R^−0.5·dtScale. */
  dtInit?: 'random' | 'constant';
  /** Scale of dt_proj's initial weight (default 1). */
  dtScale?: number;
  /** Floor of the initial Δ (default 1e-4). */
  dtInitFloor?: number;
  /** Epsilon of the RMS norms (default 1e-5). */
  normEps?: number;
  /** Bias on in_proj and out_proj (default false). */
  bias?: boolean;
  /** Bias on the conv (default true). */
  convBias?: boolean;
  /**
   * FalconMamba: pass Δ (before dt_proj), B and C each through a weightless RMS norm over its last axis right
   * after x_proj (default false).
   */
  bcdtNorm?: boolean;
  /** Epsilon of those norms (FalconMamba's `mixer_rms_eps`, default 1e-6). */
  bcdtNormEps?: number;
  /**
   * Scan implementation: 'auto' (default: the fused kernel when the backend has one, else the parallel scan),
   * 'fused', 'pscan' (log-depth parallel scan of tf ops) or 'sequential' (a loop over L).
   */
  scanMode?: 'auto' | 'fused' | 'pscan' | 'sequential';
  /**
   * @deprecated Read from models saved by mamba-tfjs 0.1 only: `pscan: false` with no explicit scanMode means
   * scanMode 'sequential'. Use scanMode.
   */
  pscan?: boolean;
  /** Seed for the initial weights (default: unseeded). */
  seed?: number;
  /**
   * 'paper' (default): the paper's initialization. 'zeros': all weights start at zero, for a model whose
   * weights are loaded next — no random draws, and on the cpu backend no memory touched until written.
   * Converted checkpoints (mamba-tfjs convert, loadCheckpoint) use 'zeros'.
   */
  weightInit?: 'paper' | 'zeros';
  /**
   * 'float32' (default), or 'int8': in_proj, x_proj, dt_proj, out_proj (and in MambaLM the embedding and head)
   * stored and kept as int8 with one float32 scale per output row, for inference on cpu and wasm
   * (`quantize(model)`, `mamba-tfjs convert --dtype int8`; layers/int8.ts).
   */
  weightDtype?: 'float32' | 'int8';
}

/** A MambaConfig with every default filled in and the derived sizes. */
export type ResolvedMambaConfig = Required<Omit<MambaConfig, 'seed' | 'dtRank' | 'pscan'>> & {
  dtRank: number;
  seed: number | undefined;
  /** ED = expandFactor · dModel. */
  dInner: number;
};

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`Mamba config: expected ${name} to be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function positiveNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`Mamba config: expected ${name} to be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function boolOf(v: unknown, fallback: boolean, name: string): boolean {
  if (v == null) return fallback;
  if (typeof v !== 'boolean') throw new Error(`Mamba config: expected ${name} to be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function weightInitOf(v: unknown): 'paper' | 'zeros' {
  if (v == null) return 'paper';
  if (v !== 'paper' && v !== 'zeros') throw new Error(`Mamba config: expected weightInit 'paper' or 'zeros', got ${JSON.stringify(v)}`);
  return v;
}

function weightDtypeOf(v: unknown): 'float32' | 'int8' {
  if (v == null) return 'float32';
  if (v !== 'float32' && v !== 'int8') throw new Error(`Mamba config: expected weightDtype 'float32' or 'int8', got ${JSON.stringify(v)}`);
  return v;
}

/** Fill in defaults and check every field. */
export function resolveMambaConfig(c: MambaConfig): ResolvedMambaConfig {
  const dModel = positiveInt(c.dModel, 'dModel');
  const nLayers = positiveInt(c.nLayers, 'nLayers');
  const expandFactor = positiveInt(c.expandFactor ?? 2, 'expandFactor');
  const dtRank = c.dtRank == null || c.dtRank === 'auto' ? Math.ceil(dModel / 16) : positiveInt(c.dtRank, 'dtRank');
  const dtInit = c.dtInit ?? 'random';
  if (dtInit !== 'random' && dtInit !== 'constant') {
    throw new Error(`Mamba config: expected dtInit 'random' or 'constant', got ${JSON.stringify(dtInit)}`);
  }
  // Porting note: older saved configs chose the non-fused scan with `pscan: boolean`; scanMode replaces it.
  const legacySequential = c.pscan === false && (c.scanMode == null || c.scanMode === 'auto');
  const scanMode = legacySequential ? 'sequential' : c.scanMode ?? 'auto';
  if (!['auto', 'fused', 'pscan', 'sequential'].includes(scanMode)) {
    throw new Error(`Mamba config: expected scanMode auto|fused|pscan|sequential, got ${JSON.stringify(scanMode)}`);
  }
  return {
    dModel,
    nLayers,
    dtRank,
    dState: positiveInt(c.dState ?? 16, 'dState'),
    expandFactor,
    dConv: positiveInt(c.dConv ?? 4, 'dConv'),
    dtMin: c.dtMin ?? 0.001,
    dtMax: c.dtMax ?? 0.1,
    dtInit,
    dtScale: c.dtScale ?? 1,
    dtInitFloor: c.dtInitFloor ?? 1e-4,
    normEps: c.normEps ?? 1e-5,
    bias: c.bias ?? false,
    convBias: c.convBias ?? true,
    bcdtNorm: boolOf(c.bcdtNorm, false, 'bcdtNorm'),
    bcdtNormEps: positiveNumber(c.bcdtNormEps ?? 1e-6, 'bcdtNormEps'),
    scanMode,
    seed: c.seed,
    weightInit: weightInitOf(c.weightInit),
    weightDtype: weightDtypeOf(c.weightDtype),
    dInner: expandFactor * dModel,
  };
}

/** The scan mode a block runs. */
export function blockScanMode(c: ResolvedMambaConfig): 'auto' | 'fused' | 'pscan' | 'sequential' {
  return c.scanMode;
}

/** The serializable part of a config (what getConfig stores). */
export function configForSave(c: ResolvedMambaConfig): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {
    dModel: c.dModel, nLayers: c.nLayers, dtRank: c.dtRank, dState: c.dState, expandFactor: c.expandFactor,
    dConv: c.dConv, dtMin: c.dtMin, dtMax: c.dtMax, dtInit: c.dtInit, dtScale: c.dtScale,
    dtInitFloor: c.dtInitFloor, normEps: c.normEps, bias: c.bias, convBias: c.convBias,
    scanMode: c.scanMode,
  };
  // Written only when on, so that configs saved before FalconMamba existed stay as they were.
  if (c.bcdtNorm) Object.assign(out, { bcdtNorm: true, bcdtNormEps: c.bcdtNormEps });
  if (c.seed != null) out.seed = c.seed;
  if (c.weightInit === 'zeros') out.weightInit = 'zeros';
  if (c.weightDtype === 'int8') out.weightDtype = 'int8';
  return out;
}
