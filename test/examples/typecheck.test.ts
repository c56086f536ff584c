/**
 * The examples run transpiled (examples/run.js does not type-check), so the type checker runs here:
 * `tsc -p examples/tsconfig.json` over examples/*.ts, examples/lib/*.ts and the sources they import.
 */
import * as path from 'path';
import { execFile } from 'child_process';
import { promisify } from 'util';

const root = path.resolve(__dirname, '../..');

test('the examples type-check', async () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = promisify(execFile)(process.execPath, [tsc, '-p', path.join(root, 'examples/tsconfig.json')], { cwd: root, encoding: 'utf8' });
  await expect(run.catch((e: { stdout?: string }) => Promise.reject(new Error(`tsc reported:\n${e.stdout ?? e}`)))).resolves.toBeDefined();
}, 120_000);
