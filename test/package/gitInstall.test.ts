/**
 * Installing from git (until a registry release exists, README's install line): `npm install git+file://<this
 * repo>` must give a working package — npm clones the committed HEAD, installs its dev dependencies and runs its
 * `prepare` script (the build), so the installed package has dist/. Then the package loads and trains a step.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installedVersion, ROOT, run } from '../helpers/pack';

let scratch: string;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-tfjs-git-'));
  const version = installedVersion('@tensorflow/tfjs');
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({
    name: 'scratch', version: '1.0.0', private: true,
    dependencies: { '@tensorflow/tfjs': version, 'mamba-tfjs': `git+file://${ROOT}` },
  }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], scratch, 540_000);
}, 600_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('npm install from a git URL builds the package (prepare) and it loads, fits and predicts', () => {
  const pkg = path.join(scratch, 'node_modules', 'mamba-tfjs');
  expect(fs.existsSync(path.join(pkg, 'dist', 'node.js'))).toBe(true);
  expect(fs.existsSync(path.join(pkg, 'dist', 'esm', 'index.js'))).toBe(true);
  const script = `
    const tf = require('@tensorflow/tfjs');
    const { mambaLayer, selectBackend } = require('mamba-tfjs');
    (async () => {
      await selectBackend('cpu');
      const model = tf.sequential();
      model.add(mambaLayer({ dModel: 8, nLayers: 1, inputShape: [null, 8] }));
      model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 1);
      const h = await model.fit(x, x, { epochs: 1, verbose: 0 });
      console.log(JSON.stringify({ loss: h.history.loss[0], shape: model.predict(x).shape }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const out = JSON.parse(run(process.execPath, ['-e', script], scratch).trim().split('\n').pop() as string);
  expect(Number.isFinite(out.loss)).toBe(true);
  expect(out.shape).toEqual([2, 5, 8]);
}, 120_000);
