/**
 * Running one mamba-tfjs subcommand in a test: a fresh commander program (exitOverride, output
 * swallowed) with the subcommand registered, parsed from an argv list; console.log is silenced.
 */
import { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';

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

/** Runs argv through the real program (every subcommand), returning what it wrote to stdout (console.log and process.stdout). */
export async function cli(argv: string[]): Promise<string> {
  const chunks: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    chunks.push(`${a.join(' ')}\n`);
  });
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((t: string | Uint8Array) => {
    chunks.push(String(t));
    return true;
  });
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'mamba-tfjs', ...argv]);
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return chunks.join('');
}
