/**
 * `npm pack` of this checkout (its current build, scripts not run) into a scratch project that installs the tarball
 * beside the packages a test names — as a user's project would.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command, returning stdout; on failure the error carries its stderr. */
export function run(cmd: string, args: string[], cwd: string, timeout = 240_000): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
}

/** The version of an installed package of this checkout. */
export function installedVersion(pkg: string): string {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;
}

/** A scratch project (in the temp folder) with the packed tarball and `deps` installed; `files` lists the tarball. */
export function scratchProject(prefix: string, deps: Record<string, string>): { dir: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const [packed] = JSON.parse(run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)) as { filename: string; files: { path: string }[] }[];
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'scratch', version: '1.0.0', private: true,
    dependencies: { ...deps, 'mamba-tfjs': `file:${path.join(dir, path.basename(packed.filename))}` },
  }));
  run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir);
  return { dir, files: packed.files.map((f) => f.path) };
}
