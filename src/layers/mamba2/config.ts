/**
 * Mamba2Config: the Mamba-2 block's fields (HF transformers' Mamba2Config / mamba_ssm's Mamba2, in camelCase),
 * their defaults, and the derived sizes.
 */

/** Fields of a Mamba-2 stack. */
export interface Mamba2Config {
  /** D: model width. */
  dModel: number;
  /** Number of residual blocks. */
  nLayers: number;
  /** N: state size (default 128). */
  dState?: number;
  /** P: head dim (default 64); H = ED / P heads. */
  headDim?: number;
  /** G: groups of B and C (default 1); G divides H. */
  nGroups?: number;
  /** E: expansion factor, ED = E·D (default 2). */
  expandFactor?: number;
  /** K: width of the causal depthwise conv (default 4). */
  dConv?: number;
  /** Q: chunk length of the chunked scan (default 256). */
  chunkSize?: number;
  /** Smallest initial Δ (default 0.001). */
  dtMin?: number;
  /** Largest initial Δ (default 0.1). */
  dtMax?: number;
  /** Floor of the initial Δ (default 1e-4). */
  dtInitFloor?: number;
  /** Lower clamp of Δ (HF's time_step_limit; default 0: Δ is clamped to [dtLimitMin, dtLimitMax]). */
  dtLimitMin?: number;
  /** Upper clamp of Δ (time_step_limit; default Infinity). */
  dtLimitMax?: number;
  /** Epsilon of the RMS norms (default 1e-5). */
  normEps?: number;
  /**
   * Groups of the gated RMS norm: each normalizes ED / normGroups channels (default 1: all ED, as HF transformers'
   * Mamba2). mamba_ssm's Mamba2 (the original state-spaces layout) normalizes per group of B and C: ngroups.
   */
  normGroups?: number;
  /** Bias on in_proj and out_proj (default false). */
  bias?: boolean;
  /** Bias on the conv (default true). */
  convBias?: boolean;
  /**
   * Scan: 'auto' (default: fused where the backend has the kernel, else chunked; see the flag MAMBA_TFJS_SSD_MODE),
   * 'fused' (one kernel, hand-written backward), 'chunked' (SSD matmuls + a recurrence over chunks), 'sequential'.
   */
  scanMode?: 'auto' | 'fused' | 'chunked' | 'sequential';
  /** Seed for the initial weights (default: unseeded). */
  seed?: number;
  /** 'paper' (default) or 'zeros' (for weights loaded next; see MambaConfig.weightInit). */
  weightInit?: 'paper' | 'zeros';
}

export type ResolvedMamba2Config = Required<Omit<Mamba2Config, 'seed'>> & {
  seed: number | undefined;
  /** ED = E·D. */
  dInner: number;
  /** H = ED / P. */
  nHeads: number;
  /** Channels through the conv: ED + 2·G·N (x, B, C). */
  convDim: number;
};

function posInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`Mamba2 config: expected ${name} to be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(v: unknown, name: string, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) throw new Error(`Mamba2 config: expected ${name} to be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, fallback: boolean, name: string): boolean {
  if (v == null) return fallback;
  if (typeof v !== 'boolean') throw new Error(`Mamba2 config: expected ${name} to be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Fill in defaults and check every field. */
export function resolveMamba2Config(c: Mamba2Config): ResolvedMamba2Config {
  const dModel = posInt(c.dModel, 'dModel');
  const expandFactor = posInt(c.expandFactor ?? 2, 'expandFactor');
  const dInner = expandFactor * dModel;
  const headDim = posInt(c.headDim ?? 64, 'headDim');
  if (dInner % headDim !== 0) throw new Error(`Mamba2 config: expected headDim to divide expandFactor·dModel = ${dInner}, got ${headDim}`);
  const nHeads = dInner / headDim;
  const nGroups = posInt(c.nGroups ?? 1, 'nGroups');
  if (nHeads % nGroups !== 0) throw new Error(`Mamba2 config: expected nGroups to divide the ${nHeads} heads, got ${nGroups}`);
  const dState = posInt(c.dState ?? 128, 'dState');
  const scanMode = c.scanMode ?? 'auto';
  if (!['auto', 'fused', 'chunked', 'sequential'].includes(scanMode)) {
    throw new Error(`Mamba2 config: expected scanMode auto|fused|chunked|sequential, got ${JSON.stringify(scanMode)}`);
  }
  const weightInit = c.weightInit ?? 'paper';
  if (weightInit !== 'paper' && weightInit !== 'zeros') throw new Error(`Mamba2 config: expected weightInit 'paper' or 'zeros', got ${JSON.stringify(weightInit)}`);
  const positive = (x: number) => x > 0 && Number.isFinite(x);
  const normGroups = posInt(c.normGroups ?? 1, 'normGroups');
  if (dInner % normGroups !== 0) throw new Error(`Mamba2 config: expected normGroups to divide expandFactor·dModel = ${dInner}, got ${normGroups}`);
  const dtLimitMin = num(c.dtLimitMin ?? 0, 'dtLimitMin', (x) => x >= 0 && Number.isFinite(x), 'a finite number ≥ 0');
  return {
    dModel, nLayers: posInt(c.nLayers, 'nLayers'), dState, headDim, nGroups, expandFactor,
    dConv: posInt(c.dConv ?? 4, 'dConv'), chunkSize: posInt(c.chunkSize ?? 256, 'chunkSize'),
    dtMin: num(c.dtMin ?? 0.001, 'dtMin', positive, 'positive'), dtMax: num(c.dtMax ?? 0.1, 'dtMax', positive, 'positive'),
    dtInitFloor: num(c.dtInitFloor ?? 1e-4, 'dtInitFloor', positive, 'positive'),
    dtLimitMin, dtLimitMax: num(c.dtLimitMax ?? Infinity, 'dtLimitMax', (x) => x > dtLimitMin, `above dtLimitMin ${dtLimitMin}`),
    normEps: num(c.normEps ?? 1e-5, 'normEps', positive, 'positive'), normGroups, bias: bool(c.bias, false, 'bias'),
    convBias: bool(c.convBias, true, 'convBias'), scanMode, seed: c.seed, weightInit,
    dInner, nHeads, convDim: dInner + 2 * nGroups * dState,
  };
}

/** The serializable part (what getConfig stores); an infinite dtLimitMax is left out (JSON has no ∞). */
export function mamba2ConfigForSave(c: ResolvedMamba2Config): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {
    dModel: c.dModel, nLayers: c.nLayers, dState: c.dState, headDim: c.headDim, nGroups: c.nGroups,
    expandFactor: c.expandFactor, dConv: c.dConv, chunkSize: c.chunkSize, dtMin: c.dtMin, dtMax: c.dtMax,
    dtInitFloor: c.dtInitFloor, dtLimitMin: c.dtLimitMin, normEps: c.normEps, bias: c.bias, convBias: c.convBias,
    scanMode: c.scanMode,
  };
  if (Number.isFinite(c.dtLimitMax)) out.dtLimitMax = c.dtLimitMax;
  if (c.normGroups !== 1) out.normGroups = c.normGroups; // written only when grouped: older configs stay as they were
  if (c.seed != null) out.seed = c.seed;
  if (c.weightInit === 'zeros') out.weightInit = 'zeros';
  return out;
}
