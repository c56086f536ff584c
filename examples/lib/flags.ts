/**
 * Command-line flags of the examples (`--name value`), read with Node's util.parseArgs.
 */
import { parseArgs } from 'util';

/** The parsed flags: values by name, and the positional arguments. */
export interface Flags {
  /** A flag's value as a number, or `fallback` when absent. Throws on a value that is not a finite number. */
  num(name: string, fallback: number): number;
  /** A flag's value as a string, or `fallback` when absent. */
  str(name: string, fallback: string): string;
  /** A flag's value as a string, or undefined when absent. */
  opt(name: string): string | undefined;
  /** Arguments that are not flags. */
  positionals: string[];
}

/** The usage line of an example that takes these flags. */
export function usage(example: string, names: string[]): string {
  return `usage: node examples/run.js ${example} ${names.map((n) => `[--${n} VALUE]`).join(' ')}   (see examples/README.md)`;
}

/**
 * Parse `argv` (default: the example's own arguments) against the flag names it accepts; every flag takes a
 * value. `--help` / `-h` prints the usage line and exits. Any other unknown flag, or a flag without its value, is
 * an error of one line naming the accepted flags.
 * @param example the example's name, for the usage line (default: from process.argv[1])
 */
export function readFlags(names: string[], argv: string[] = process.argv.slice(2), example = exampleName()): Flags {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage(example, names));
    process.exit(0);
  }
  const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new Error(`${example}: ${parseError(e as Error & { code?: string }, argv)}; expected flags: ${names.map((n) => `--${n}`).join(' ')}`);
  }
  const values = parsed.values as Record<string, string | undefined>;
  return {
    num(name, fallback) {
      const v = values[name];
      if (v === undefined) return fallback;
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name}: expected a number, got "${v}"`);
      return n;
    },
    str: (name, fallback) => values[name] ?? fallback,
    opt: (name) => values[name],
    positionals: parsed.positionals,
  };
}

/** The running example's name (its file name without .ts). */
function exampleName(): string {
  return (process.argv[1] ?? 'example').split(/[\\/]/).pop()?.replace(/\.ts$/, '') ?? 'example';
}

/** parseArgs's error as a short phrase: which flag was wrong and how. */
function parseError(e: Error & { code?: string }, argv: string[]): string {
  const flag = /'(-[^']*)'/.exec(e.message)?.[1] ?? argv.find((a) => a.startsWith('-')) ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `flag ${flag.split(' ')[0]} expects a value`;
  return e.message.split('\n')[0];
}
