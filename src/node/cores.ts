/**
 * How many cores this process may use, and how many of them are free now: the thread counts of the kernel pool
 * (MAMBA_TFJS_THREADS, 0 = one per core) and of tfjs's threaded wasm build (MAMBA_TFJS_WASM_THREADS, 'auto' = one
 * per free core).
 *
 * Why free cores for tfjs's build: its XNNPACK threads wait for each other on every product, so a thread whose core
 * another job holds stalls them all (a decoding matvec ran 2.5–4× slower on a loaded machine), while our pool's
 * threads take chunks from a counter and a descheduled one costs only its share.
 */
import * as fs from 'fs';
import * as os from 'os';

/** Cores this process may use (its CPU affinity where Node reports it). */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Summed idle and total times (ms) of a machine's CPUs. */
export interface CpuTimes {
  idle: number;
  total: number;
}

/**
 * The CPUs this process may run on, from Linux's /proc/self/status (Cpus_allowed_list, e.g. "0-1,4"); null where
 * that is not available (other systems: every CPU).
 */
export function allowedCpus(status?: string): number[] | null {
  let text = status;
  if (text == null) {
    try {
      text = fs.readFileSync('/proc/self/status', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Cpus_allowed_list:\s*([\d,\-\s]+)$/m.exec(text);
  if (m == null) return null;
  const cpus: number[] = [];
  for (const part of m[1].trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a) && cpus.length < 65536; c++) cpus.push(c);
  }
  return cpus.length > 0 && cpus.every(Number.isInteger) ? cpus : null;
}

/** Summed idle and total times of the CPUs `which` (indices into os.cpus(); default: every CPU). */
export function cpuTimes(which?: number[] | null): CpuTimes {
  const all = os.cpus();
  let idle = 0;
  let total = 0;
  for (const i of which ?? all.keys()) {
    const t = all[i]?.times;
    if (t == null) continue;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/**
 * Cores free between two readings `a` and `b` of cpuTimes() on a machine of `cpus` CPUs: the idle share times `cpus`,
 * rounded, at least 1 and at most `available` (all of them when no time passed).
 */
export function coresFree(a: CpuTimes, b: CpuTimes, cpus: number, available: number): number {
  const total = b.total - a.total;
  const free = total > 0 ? ((b.idle - a.idle) / total) * cpus : cpus;
  return Math.max(1, Math.min(available, Math.round(free)));
}

/**
 * Cores left free by the rest of the machine (coresFree over `sampleMs`, of the CPUs this process may run on): on an
 * idle machine availableCores(); on one where another job keeps a core busy, one less.
 */
export async function freeCores(sampleMs = 100): Promise<number> {
  const cpus = allowedCpus()?.filter((c) => c < os.cpus().length) ?? null;
  const which = cpus != null && cpus.length > 0 ? cpus : null;
  const a = cpuTimes(which);
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  return coresFree(a, cpuTimes(which), which?.length ?? os.cpus().length, availableCores());
}
