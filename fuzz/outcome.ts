/**
 * How one fuzz case ended, and the measurements that decide it:
 *
 *   ok      the reader accepted the input and read everything
 *   error   it refused with an Error of ours: a plain `Error` (not TypeError, RangeError, SyntaxError, ...),
 *           without a Node system-error `code`, whose message names the input (file path or source label)
 *   crash   anything else thrown or rejected, or an exception that escaped while the case ran
 *   slow    it took longer than the time limit (or never finished)
 *   memory  array buffers grew by more than memoryFactor × input size + slack while it ran
 */

/** The outcomes, in report order. */
export const OUTCOMES = ['ok', 'error', 'crash', 'slow', 'memory'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Whether a thrown value is one of our readers' errors for the input labelled `label`. */
export function isOurError(e: unknown, label: string): boolean {
  if (!(e instanceof Error) || Object.getPrototypeOf(e) !== Error.prototype) return false;
  if (typeof (e as { code?: unknown }).code === 'string') return false;
  return e.message.includes(label);
}

/** A one-line description of a thrown value. */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) {
    const kind = e.constructor?.name ?? 'Error';
    const msg = e.message.length > 300 ? `${e.message.slice(0, 297)}...` : e.message;
    return `${kind}: ${msg}`;
  }
  return `non-Error thrown: ${String(e)}`;
}

/**
 * Samples process.memoryUsage().arrayBuffers on every event-loop turn while started, keeping the peak.
 * Synchronous allocations that are freed before the next turn are not seen; values kept by the case are,
 * through {@link MemorySampler.sample} after it ends.
 */
export class MemorySampler {
  readonly base: number;
  private peakBytes: number;
  private timer: NodeJS.Immediate | null = null;

  constructor() {
    this.base = process.memoryUsage().arrayBuffers;
    this.peakBytes = this.base;
    const tick = (): void => {
      this.sample();
      this.timer = setImmediate(tick);
    };
    this.timer = setImmediate(tick);
  }

  /** Takes one sample now. */
  sample(): void {
    const now = process.memoryUsage().arrayBuffers;
    if (now > this.peakBytes) this.peakBytes = now;
  }

  /** Stops sampling; returns the peak growth over the starting value in bytes. */
  stop(): number {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.sample();
    return Math.max(0, this.peakBytes - this.base);
  }
}
