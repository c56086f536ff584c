/**
 * Training progress: a cli-progress bar (step, loss, accuracy, tokens/s, ETA) on a terminal, plain
 * lines every few steps otherwise (logs, CI, pipes).
 */
import * as cliProgress from 'cli-progress';

/** Numbers shown for one step. */
export interface ProgressInfo {
  step: number;
  loss: number;
  accuracy: number;
  tokensPerSec: number;
  lr: number;
}

/** Options of {@link TrainProgress}. */
export interface ProgressOptions {
  /** Draw a live bar (default: process.stdout.isTTY). */
  tty?: boolean;
  /** Where plain lines go (default console.log). */
  log?: (line: string) => void;
  /** Print a plain line every this many steps when not on a terminal. */
  every?: number;
}

/** Seconds as "1h02m", "3m05s" or "42s". */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** A percentage with one decimal. */
export function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

/** Progress display of one training session, from `start` to `total` steps. */
export class TrainProgress {
  private readonly multi?: cliProgress.MultiBar;
  private readonly bar?: cliProgress.SingleBar;
  private readonly log: (line: string) => void;
  private readonly every: number;
  private readonly t0 = Date.now();
  private readonly start: number;
  private readonly total: number;

  constructor(start: number, total: number, opts: ProgressOptions = {}) {
    this.log = opts.log ?? ((l) => console.log(l));
    this.every = Math.max(1, opts.every ?? Math.round((total - start) / 20));
    this.start = start;
    this.total = total;
    if (opts.tty ?? process.stdout.isTTY) {
      this.multi = new cliProgress.MultiBar(
        {
          format: ' {bar} {value}/{total} | loss {loss} | acc {acc} | {tps} tok/s | ETA {eta_formatted}',
          stream: process.stdout,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multi.create(total, start, { loss: '-', acc: '-', tps: '-' });
    }
  }

  /** Shows the numbers of a finished step. */
  update(info: ProgressInfo): void {
    const loss = info.loss.toFixed(4);
    const acc = pct(info.accuracy);
    const tps = Math.round(info.tokensPerSec);
    if (this.bar) {
      this.bar.update(info.step, { loss, acc, tps });
      return;
    }
    if (info.step % this.every === 0 || info.step === this.total) {
      const elapsed = (Date.now() - this.t0) / 1000;
      const eta = ((this.total - info.step) * elapsed) / Math.max(1, info.step - this.start);
      this.log(`step ${info.step}/${this.total}  loss ${loss}  acc ${acc}  ${tps} tok/s  lr ${info.lr.toExponential(2)}  ETA ${formatDuration(eta)}`);
    }
  }

  /** Prints a line without breaking the bar. */
  note(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.log(line);
  }

  /** Removes the bar's timer (call once, at the end or on interruption). */
  stop(): void {
    this.multi?.stop();
  }
}
