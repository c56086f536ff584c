/**
 * The package as users install it: `npm pack`, then a scratch project with only the declared peers
 * (@tensorflow/tfjs-core and @tensorflow/tfjs-layers) and the tarball. The library must load, fit a tf.sequential
 * with mambaLayer and predict; the CLI must run; the tarball must hold the library and CLI only (no fuzz, no tests).
 * Needs the build (`npm test` builds first) and the npm registry or npm's cache for the two peers.
 */
import * as fs from 'fs';
import * as path from 'path';
import { installedVersion, run, scratchProject } from '../helpers/pack';

let scratch: string;
let files: string[];

beforeAll(() => {
  const version = installedVersion('@tensorflow/tfjs-core');
  ({ dir: scratch, files } = scratchProject('mamba-tfjs-pack-', { '@tensorflow/tfjs-core': version, '@tensorflow/tfjs-layers': version }));
}, 300_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('the tarball holds the library and the CLI, no fuzz, test or source files', () => {
  expect(files).toContain('dist/index.js');
  expect(files).toContain('dist/cli/main.js');
  expect(files).toContain('package.json');
  const stray = files.filter((f) => /(^|\/)(fuzz|test|src)\//.test(f) || f.startsWith('.build-dev'));
  expect(stray).toEqual([]);
});

test('a peers-only install loads the package, fits a tf.sequential with mambaLayer, and predicts', () => {
  expect(fs.existsSync(path.join(scratch, 'node_modules/@tensorflow/tfjs'))).toBe(false); // only the peers
  const script = `
    const tf = require('@tensorflow/tfjs-core');
    const tfl = require('@tensorflow/tfjs-layers');
    const { mambaLayer, selectBackend } = require('mamba-tfjs');
    (async () => {
      const backend = await selectBackend('cpu');
      const model = tfl.sequential();
      model.add(mambaLayer({ dModel: 8, nLayers: 1, inputShape: [null, 8] }));
      model.add(tfl.layers.dense({ units: 1 }));
      model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
      const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 1);
      const y = tf.randomNormal([2, 6, 1], 0, 1, 'float32', 2);
      const h = await model.fit(x, y, { epochs: 2, verbose: 0 });
      const p = model.predict(x);
      console.log(JSON.stringify({ backend, loss: h.history.loss, shape: p.shape, finite: tf.all(tf.isFinite(p)).dataSync()[0] === 1 }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const out = JSON.parse(run(process.execPath, ['-e', script], scratch).trim().split('\n').pop() as string);
  expect(out.backend).toBe('cpu');
  expect(out.shape).toEqual([2, 6, 1]);
  expect(out.finite).toBe(true);
  expect(out.loss).toHaveLength(2);
  expect(out.loss.every((l: number) => Number.isFinite(l))).toBe(true);
}, 120_000);

test('npx mamba-tfjs runs in the peers-only install (help, and a short training on its default backend)', () => {
  const bin = path.join(scratch, 'node_modules', '.bin', 'mamba-tfjs');
  expect(run(bin, ['--help'], scratch)).toMatch(/train/);
  const out = path.join(scratch, 'run');
  const log = run(bin, ['train', '--steps', '3', '--batch', '2', '--eval-every', '0', '--eval-size', '8', '--out', out], scratch);
  expect(log).toMatch(/accuracy/i);
  expect(fs.existsSync(path.join(out, 'model.json'))).toBe(true);
}, 180_000);
