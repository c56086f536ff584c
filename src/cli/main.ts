#!/usr/bin/env node
/**
 * The `mamba-tfjs` command. Each subcommand lives in its own file and exports a
 * `register(program)` function; add one by listing it in SUBCOMMANDS.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { setupNode } from '../node/setup';
import { registerTrain } from './train';
import { registerConvertCommand } from './convertCommand';
import { registerGenerateCommand } from './generateCommand';
import { registerExportHfCommand } from './exportHfCommand';

/** Subcommand registrations, one line each. */
const SUBCOMMANDS: Array<(program: Command) => void> = [
  registerTrain,
  registerConvertCommand,
  registerGenerateCommand,
  registerExportHfCommand,
];

/** The package version, read from package.json (two levels up from src/cli or dist/cli). */
function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Builds the command-line program with every subcommand registered. */
export function buildProgram(): Command {
  setupNode(); // kernels, the file:// handler, the backend loader
  const program = new Command('mamba-tfjs')
    .description('Mamba (selective state-space model) for TensorFlow.js')
    .version(version())
    .showHelpAfterError();
  for (const register of SUBCOMMANDS) register(program);
  return program;
}

/** Runs the program on `argv` (default process.argv); errors are printed without a stack trace. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    console.error(`mamba-tfjs: ${(e as Error).message}`);
    if (process.env.MAMBA_TFJS_DEBUG) console.error(e);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
