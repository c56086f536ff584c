/**
 * Size: a forward pass of a Mamba stack at L = 16384 (dModel 64, 1 layer, B 1) on the cpu backend picks the
 * fused scan by itself ('auto') and peaks well within a few GiB of RSS.
 *
 * It runs in a child process (benchmarks/longSequence.js over the built dist/, as `npm test` builds first):
 * that gives the forward's own peak RSS, and plain Node runs tfjs's cpu kernels about 8x faster than jest's
 * module sandbox does.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';

const ROOT = path.resolve(__dirname, '../..');

test('L = 16384, dModel 64, 1 layer, cpu, scanMode auto: fused, finite output, peak RSS under 3 GiB', async () => {
  expect(fs.existsSync(path.join(ROOT, 'dist/index.js'))).toBe(true); // npm run build
  const { stdout } = await promisify(execFile)(
    process.execPath, [path.join(ROOT, 'benchmarks/longSequence.js'), '--child', 'model:cpu:auto', '--L', '16384', '--layers', '1'],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  const line = stdout.split('\n').find((s) => s.startsWith('{'));
  expect(line).toBeDefined();
  const r = JSON.parse(line!) as { resolved: string; finite: boolean; peakRssMiB: number; ms: number };
  expect(r.resolved).toBe('fused');
  expect(r.finite).toBe(true);
  expect(r.peakRssMiB).toBeLessThan(3 * 1024);
}, 150_000);
