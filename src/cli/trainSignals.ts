/**
 * Stopping a training run by signal: SIGINT (Ctrl-C) and SIGTERM (what `timeout`, docker and systemd send) both
 * ask for a checkpoint after the current step. A second signal quits at once, except while a checkpoint is being
 * saved: then the save completes first (a checkpoint is one step, never half of one), and the process exits after.
 */

/** Exit status of a process ended by a signal: 128 + its number. */
const EXIT_STATUS: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** The stop requests of one run. */
export class StopSignals {
  /** Whether a stop was asked for. */
  interrupted = false;
  private saving = false;
  private exitAfterSave: number | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  /** @param note where the one-line notices go (the progress display's note while training) */
  constructor(public note: (line: string) => void) {}

  /** Starts listening for SIGINT and SIGTERM. */
  install(): void {
    for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
      const h = (): void => this.onSignal(sig);
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
  }

  /** Stops listening. */
  uninstall(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }

  private onSignal(sig: NodeJS.Signals): void {
    const again = sig === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
    if (!this.interrupted) {
      this.interrupted = true;
      this.note(`interrupted (${sig}): saving a checkpoint after this step (${again} again to quit without saving)`);
      return;
    }
    if (this.saving) {
      this.exitAfterSave = EXIT_STATUS[sig] ?? 130;
      this.note(`${sig} during the save: finishing the checkpoint, then quitting`);
      return;
    }
    process.exit(EXIT_STATUS[sig] ?? 130);
  }

  /** Runs a checkpoint save that a signal does not cut short; exits afterwards if a second signal came meanwhile. */
  async guardSave(save: () => Promise<void>): Promise<void> {
    this.saving = true;
    try {
      await save();
    } finally {
      this.saving = false;
    }
    if (this.exitAfterSave !== null) process.exit(this.exitAfterSave);
  }
}
