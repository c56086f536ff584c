/**
 * Backend notices: one hint per process when a model trains on 'cpu' without @tensorflow/tfjs-backend-wasm
 * installed, and no tfjs "looks like you are running TensorFlow.js in Node.js" banner where the package chooses
 * the backend. Each case runs in a child process on dist/ (`npm run build` first), where the wasm package is hidden
 * by a resolver hook as if it were not installed.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CPU_TRAINING_HINT, cpuTrainingHint } from '../../src/training/cpuHint';

const ROOT = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-hint-'));
const BANNER = 'looks like you are running TensorFlow.js in Node.js';

/** Makes require('@tensorflow/tfjs-backend-wasm') fail as for a package that is not installed. */
const HIDE_WASM = `
const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith('@tensorflow/tfjs-backend-wasm')) {
    const e = new Error("Cannot find module '" + request + "'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  return resolve.call(this, request, ...rest);
};
`;

/** Runs `body` (async, with tf and mamba in scope) in a child process; returns what it passed to console.warn. */
function warnings(body: string, hideWasm: boolean): string[] {
  const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(file, `${hideWasm ? HIDE_WASM : ''}
const lines = [];
const warn = console.warn;
console.warn = (...a) => { lines.push(a.join(' ')); };
const tf = require('module').createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))})('@tensorflow/tfjs');
const mamba = require(${JSON.stringify(path.join(ROOT, 'dist', 'node.js'))});
(async () => { ${body} })()
  .then(() => { process.stdout.write(JSON.stringify(lines)); })
  .catch((e) => { warn('FAILED', e); process.exit(1); });
`);
  return JSON.parse(execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MAMBA_TFJS_BACKEND: '' } })) as string[];
}

/** Two fits and a custom-loop step of a small MambaLM, then inference. */
const TRAIN = `
const lm = mamba.createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, dState: 4, seed: 1 });
lm.compile({ optimizer: tf.train.adam(1e-3), loss: mamba.lmLoss });
const x = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
const y = tf.tensor3d([[[2], [3], [4], [5]]], [1, 4, 1], 'int32');
await lm.fit(x, y, { epochs: 2, verbose: 0 });
await lm.fit(x, y, { epochs: 1, verbose: 0 });
const opt = tf.train.sgd(0.1);
opt.minimize(() => tf.mean(lm.apply(x)));
lm.predict(x);
`;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'node.js'))) throw new Error('dist/node.js is missing: run `npm run build` first');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the hint is due on cpu without the wasm package, and only then', () => {
  expect(cpuTrainingHint('cpu', () => false)).toBe(CPU_TRAINING_HINT);
  expect(cpuTrainingHint('cpu', () => true)).toBeNull();
  expect(cpuTrainingHint('wasm', () => false)).toBeNull();
  expect(cpuTrainingHint('webgpu', () => false)).toBeNull();
  expect(CPU_TRAINING_HINT).toMatch(/install @tensorflow\/tfjs-backend-wasm/i);
});

test('training on cpu without wasm prints the hint once per process (fit twice, a custom loop); inference alone never', () => {
  const trained = warnings(`await mamba.selectBackend('cpu');${TRAIN}`, true);
  expect(trained.filter((l) => l === CPU_TRAINING_HINT)).toHaveLength(1);
  const inferred = warnings(`await mamba.selectBackend('cpu');
    const lm = mamba.createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, dState: 4 });
    lm.predict(tf.tensor2d([[1, 2]], [1, 2], 'int32'));`, true);
  expect(inferred.filter((l) => l === CPU_TRAINING_HINT)).toHaveLength(0);
  // A custom loop alone (a gradient tape, no training flag) is training too.
  const tape = warnings(`await mamba.selectBackend('cpu');
    const lm = mamba.createMambaLM({ vocabSize: 16, dModel: 8, nLayers: 1, dState: 4 });
    tf.variableGrads(() => tf.mean(lm.apply(tf.tensor2d([[1, 2]], [1, 2], 'int32'))));`, true);
  expect(tape.filter((l) => l === CPU_TRAINING_HINT)).toHaveLength(1);
});

test('no hint with the wasm package installed (even when training on cpu)', () => {
  const lines = warnings(`await mamba.selectBackend('cpu');${TRAIN}`, false);
  expect(lines.filter((l) => l === CPU_TRAINING_HINT)).toHaveLength(0);
});

test("selectBackend spends tfjs's Node.js banner silently, and leaves tfjs's other warnings on", () => {
  // Control: choosing the backend with tf.setBackend prints the banner, so the check below can see it.
  const plain = warnings(`await tf.setBackend('cpu'); tf.tensor([1, 2]).dispose();`, false);
  expect(plain.filter((l) => l.includes(BANNER))).toHaveLength(1);
  const quiet = warnings(`await mamba.selectBackend('cpu'); tf.tensor([1, 2]).dispose();
    if (tf.env().getBool('PROD')) throw new Error('PROD left on');
    tf.backend_util.warn('another tfjs warning');`, false);
  expect(quiet.filter((l) => l.includes(BANNER))).toHaveLength(0);
  expect(quiet).toContain('another tfjs warning');
  // Also when wasm is chosen and the cpu backend is used later.
  const wasm = warnings(`await mamba.selectBackend('wasm'); await tf.setBackend('cpu'); tf.tensor([1]).dispose();`, false);
  expect(wasm.filter((l) => l.includes(BANNER))).toHaveLength(0);
  expect(tf.getBackend()).toBe('cpu'); // this process: the jest setup made cpu active
});
