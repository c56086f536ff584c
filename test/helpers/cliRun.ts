/**
 * Running one mamba-tfjs subcommand in a test: a fresh commander program (exitOverride, output
 * swallowed) with the subcommand registered, parsed from an argv list; console.log is silenced.
 */
import { Command } from 'commander';

/** Parses `['sub', ...args]` on a fresh program made by `register`; rejects with the command's error. */
export async function runCommand(register: (program: Command) => void, argv: string[]): Promise<string[]> {
  const program = new Command('mamba-tfjs').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  register(program);
  const logged: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    logged.push(a.join(' '));
  });
  try {
    await program.parseAsync(['node', 'mamba-tfjs', ...argv]);
  } finally {
    spy.mockRestore();
  }
  return logged;
}
