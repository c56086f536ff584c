/**
 * Command-line wording: library errors name the flag to type, and `--help` states the real default backend.
 */
import { buildProgram } from '../../src/cli/main';
import { flagMessage } from '../../src/cli/flagNames';

/** The help text of a subcommand. */
function help(name: string): string {
  const cmd = buildProgram().commands.find((c) => c.name() === name);
  expect(cmd).toBeDefined();
  return (cmd as NonNullable<typeof cmd>).helpInformation();
}

test('library messages name command-line flags: "pass overwrite" becomes "pass --overwrite"', () => {
  expect(flagMessage('output directory out already exists and is not empty (expected a new or empty directory; pass overwrite to replace it)'))
    .toBe('output directory out already exists and is not empty (expected a new or empty directory; pass --overwrite to replace it)');
  expect(flagMessage('pass the test')).toBe('pass the test'); // words that are not options stay
});

test('generate --help names the default backend as selectBackend chooses it (wasm when installed), and --ids', () => {
  const text = help('generate').replace(/\s+/g, ' ');
  expect(text).toContain('tfjs backend (default: $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu)');
  expect(text).not.toMatch(/MAMBA_TFJS_BACKEND or cpu/);
  expect(text).toMatch(/--ids <list> the prompt as raw token ids, e\.g\. 1,2,3/);
  expect(text).toMatch(/--prompt <text>/);
});

test('train --help: the text task validates a tenth of the way, and the backend default', () => {
  const text = help('train').replace(/\s+/g, ' ');
  expect(text).toContain('text: a tenth of --steps, at most 200');
  expect(text).toContain('default $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu');
});
