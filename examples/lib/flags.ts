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

/**
 * Parse `argv` (default: the example's own arguments) against the flag names it accepts; every flag takes a
 * value. Unknown flags are an error naming the accepted ones.
 */
export function readFlags(names: string[], argv: string[] = process.argv.slice(2)): Flags {
  const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new Error(`${(e as Error).message} (flags: ${names.map((n) => `--${n}`).join(' ')})`);
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
