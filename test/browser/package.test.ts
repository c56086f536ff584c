/**
 * The published package in a browser, as a user bundles it: a scratch project installs the packed tarball beside
 * @tensorflow/tfjs; esbuild bundles `import * as mamba from 'mamba-tfjs'` for the browser with no shim or stub (the
 * package `exports` pick the ESM core build); headless Chromium runs the page: fit a tf.sequential with
 * mambaLayer, then generate, on the cpu backend, and on wasm with the SIMD module (embedded in the build).
 */
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';
import { installedVersion, scratchProject } from '../helpers/pack';
import { openPage, BrowserSession } from './harness/chromium';
import { Route, serveStatic, StaticServer, TYPES } from './harness/server';

const PAGE = `
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as mamba from 'mamba-tfjs';
setWasmPaths('/wasm/');
globalThis.run = async (backend) => {
  const active = await mamba.selectBackend(backend);
  const model = tf.sequential();
  model.add(mamba.mambaLayer({ dModel: 8, nLayers: 1, inputShape: [null, 8], seed: 1 }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
  const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 1);
  const y = tf.randomNormal([2, 6, 1], 0, 1, 'float32', 2);
  const h = await model.fit(x, y, { epochs: 3, verbose: 0 });
  const lm = mamba.createMambaLM({ vocabSize: 50, dModel: 16, nLayers: 1, seed: 3 });
  const g = await mamba.generate(lm, [[1, 2, 3]], { maxNewTokens: 5 });
  return JSON.stringify({ active, loss: h.history.loss, sequences: g.sequences, fused: mamba.hasFusedScanKernel() });
};
globalThis.harnessReady = true;
`;

let scratch: string;
let code: string;
let bytes: number;
let server: StaticServer;
let browser: BrowserSession;

beforeAll(async () => {
  ({ dir: scratch } = scratchProject('mamba-tfjs-web-', { '@tensorflow/tfjs': installedVersion('@tensorflow/tfjs') }));
  fs.writeFileSync(path.join(scratch, 'page.js'), PAGE);
  const result = await esbuild.build({
    absWorkingDir: scratch, entryPoints: ['page.js'], bundle: true, write: false, minify: true,
    platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'silent',
  });
  code = result.outputFiles[0].text;
  bytes = Buffer.byteLength(code);
  const wasmDir = path.join(scratch, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const routes = new Map<string, Route>(fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')).map((f) => [`/wasm/${f}`, { type: TYPES.wasm, file: path.join(wasmDir, f) }]));
  routes.set('/page.js', { type: TYPES.js, body: code });
  routes.set('/', { type: TYPES.html, body: '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>' });
  server = await serveStatic(routes);
  browser = await openPage(`${server.origin}/`);
  await browser.page.waitForFunction(() => (globalThis as { harnessReady?: boolean }).harnessReady === true, null, { timeout: 30000 });
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('esbuild bundles the installed package for the browser with no shim (ESM core build)', () => {
  expect(code.length).toBeGreaterThan(100_000);
  expect(code.includes('fileSystem: expected a non-empty path')).toBe(false); // the Node entry's I/O is not bundled
  expect(code.includes('MambaSelectiveScan')).toBe(true); // the core is
  console.log(`package.test: minified browser bundle with @tensorflow/tfjs: ${(bytes / 2 ** 20).toFixed(2)} MiB`);
});

test.each(['cpu', 'wasm'])('in headless Chromium on %s: fit lowers nothing to NaN, generate returns the tokens', async (backend) => {
  const out = JSON.parse(await browser.page.evaluate((b) => (globalThis as unknown as { run(b: string): Promise<string> }).run(b), backend));
  expect(out.active).toBe(backend);
  expect(out.fused).toBe(true); // the package's kernels registered through the ESM entry
  expect(out.loss).toHaveLength(3);
  expect(out.loss.every((l: number) => Number.isFinite(l))).toBe(true);
  expect(out.sequences).toHaveLength(1);
  expect(out.sequences[0]).toHaveLength(8);
  expect(out.sequences[0].slice(0, 3)).toEqual([1, 2, 3]);
  expect(out.sequences[0].every((t: number) => Number.isInteger(t) && t >= 0 && t < 56)).toBe(true);
}, 120_000);
