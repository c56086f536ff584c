/**
 * The fuzz loop: for each case, pick a seed input, apply one to three mutations (seeded, so any case can be
 * replayed from (seed, target, index)), run the target with time and memory measured, and classify the outcome.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../src/tasks/rng';
import { bitFlip } from './bytes';
import { FuzzTarget, pickMutator } from './targets';
import { MemorySampler, OUTCOMES, Outcome, describeThrown, isOurError } from './outcome';

/** Options of {@link fuzzTarget}. */
export interface FuzzOptions {
  /** Number of cases. */
  cases: number;
  /** Base seed: equal seeds give equal cases. */
  seed: number;
  /** A case slower than this is 'slow' (default 1000 ms). */
  timeLimitMs?: number;
  /** A case still running after this long is abandoned as 'slow' (default 10 s). */
  hangMs?: number;
  /** Allowed array-buffer growth: memoryFactor × input size + memorySlackBytes (defaults 8 and 16 MiB). */
  memoryFactor?: number;
  memorySlackBytes?: number;
  /** How many failing cases to keep per target in the summary (default 20). */
  keepFailures?: number;
  /** Count exceptions that escape to the process (uncaughtException / unhandledRejection) as crashes. */
  captureEscaped?: boolean;
  /** Called after each case. */
  onCase?: (c: CaseResult) => void;
}

/** One case and how it ended. */
export interface CaseResult {
  target: string;
  index: number;
  seedName: string;
  /** The mutations applied, in order. */
  what: string[];
  outcome: Outcome;
  ms: number;
  /** Peak growth of array buffers during the case, in bytes. */
  grewBytes: number;
  /** Input size in bytes. */
  size: number;
  /** The case's memory limit in bytes. */
  limitBytes: number;
  /** The error message, for error/crash/slow. */
  message: string;
  /** The mutated input. */
  bytes: Uint8Array;
}

/** Per-target totals. */
export interface TargetSummary {
  target: string;
  cases: number;
  counts: Record<Outcome, number>;
  /** Slowest case in ms. */
  maxMs: number;
  /** Largest array-buffer growth of a case, in bytes. */
  maxGrowthBytes: number;
  /** Largest array-buffer growth of a case relative to its limit (memoryFactor × size + slack); ≤ 1 passes. */
  maxLimitRatio: number;
  totalMs: number;
  /** The first failing cases (crash, slow, memory). */
  failures: CaseResult[];
}

/** A 32-bit FNV-1a hash of a string, to derive per-case seeds. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The mutated input of case `index` (deterministic in seed, target and index). */
export function makeCase(target: FuzzTarget, seed: number, index: number): { seedName: string; bytes: Uint8Array; what: string[] } {
  const rng = new Rng(hash(`${seed}:${target.name}:${index}`));
  const s = target.seeds[rng.int(target.seeds.length)];
  let bytes = s.bytes;
  const what: string[] = [];
  const r = rng.next();
  const count = r < 0.7 ? 1 : r < 0.9 ? 2 : 3;
  for (let i = 0; i < count; i++) {
    const m = pickMutator(target.mutators, rng);
    let out;
    try {
      out = m(bytes, rng);
    } catch (e) {
      out = bitFlip(bytes, rng); // a mutator that cannot handle an already-mutated input
      out.what += ` (mutator failed: ${(e as Error).message})`;
    }
    bytes = out.bytes;
    what.push(out.what);
  }
  return { seedName: s.name, bytes, what };
}

/** Listens for exceptions that escape to the process while installed. */
class EscapeCatcher {
  readonly escaped: unknown[] = [];
  private readonly onError = (e: unknown): void => {
    this.escaped.push(e);
  };

  constructor() {
    process.on('uncaughtException', this.onError);
    process.on('unhandledRejection', this.onError);
  }

  dispose(): void {
    process.off('uncaughtException', this.onError);
    process.off('unhandledRejection', this.onError);
  }
}

/** Runs `target.run`, giving up after `hangMs`. */
async function runWithDeadline(target: FuzzTarget, bytes: Uint8Array, dir: string, hangMs: number): Promise<{ value?: unknown; thrown?: unknown; hung: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), hangMs);
  });
  try {
    const value = await Promise.race([target.run(bytes, dir), deadline]);
    return value === 'hung' ? { hung: true } : { value, hung: false };
  } catch (e) {
    return { thrown: e, hung: false };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one case and classifies it. */
export async function runCase(
  target: FuzzTarget, index: number, options: FuzzOptions, dir: string, catcher: EscapeCatcher | null,
): Promise<CaseResult> {
  const { seedName, bytes, what } = makeCase(target, options.seed, index);
  const sampler = new MemorySampler();
  const start = performance.now();
  let result = await runWithDeadline(target, bytes, dir, options.hangMs ?? 10_000);
  const ms = performance.now() - start;
  const grewBytes = sampler.stop();
  result = { hung: result.hung, thrown: result.thrown }; // drop what was read, now that it is measured
  await new Promise((resolve) => setImmediate(resolve)); // let escaped errors surface
  const limit = (options.memoryFactor ?? 8) * bytes.length + (options.memorySlackBytes ?? 16 * 2 ** 20);
  let outcome: Outcome;
  let message = '';
  const escaped = catcher?.escaped.splice(0) ?? [];
  if (escaped.length > 0) {
    outcome = 'crash';
    message = `escaped: ${describeThrown(escaped[0])}`;
  } else if (result.hung) {
    outcome = 'slow';
    message = `did not finish within ${options.hangMs ?? 10_000} ms`;
  } else if (result.thrown !== undefined && !isOurError(result.thrown, target.label)) {
    outcome = 'crash';
    message = describeThrown(result.thrown);
  } else if (ms > (options.timeLimitMs ?? 1000)) {
    outcome = 'slow';
    message = `took ${ms.toFixed(0)} ms`;
  } else if (grewBytes > limit) {
    outcome = 'memory';
    message = `array buffers grew by ${grewBytes} bytes for a ${bytes.length}-byte input (limit ${limit})`;
  } else {
    outcome = result.thrown === undefined ? 'ok' : 'error';
    message = result.thrown === undefined ? '' : describeThrown(result.thrown);
  }
  return { target: target.name, index, seedName, what, outcome, ms, grewBytes, size: bytes.length, limitBytes: limit, message, bytes };
}

/** Runs `options.cases` cases against one target. */
export async function fuzzTarget(target: FuzzTarget, options: FuzzOptions): Promise<TargetSummary> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mamba-fuzz-${target.name}-`));
  const catcher = options.captureEscaped ? new EscapeCatcher() : null;
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const summary: TargetSummary = { target: target.name, cases: 0, counts, maxMs: 0, maxGrowthBytes: 0, maxLimitRatio: 0, totalMs: 0, failures: [] };
  const start = performance.now();
  try {
    // One untimed run of each seed first, so that module loading and JIT warm-up do not count as 'slow'.
    for (const s of target.seeds) await target.run(s.bytes, dir).catch(() => undefined);
    for (let i = 0; i < options.cases; i++) {
      const c = await runCase(target, i, options, dir, catcher);
      summary.cases++;
      counts[c.outcome]++;
      summary.maxMs = Math.max(summary.maxMs, c.ms);
      summary.maxGrowthBytes = Math.max(summary.maxGrowthBytes, c.grewBytes);
      summary.maxLimitRatio = Math.max(summary.maxLimitRatio, c.grewBytes / c.limitBytes);
      if (c.outcome !== 'ok' && c.outcome !== 'error' && summary.failures.length < (options.keepFailures ?? 20)) summary.failures.push(c);
      options.onCase?.(c);
    }
  } finally {
    catcher?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  summary.totalMs = performance.now() - start;
  return summary;
}
