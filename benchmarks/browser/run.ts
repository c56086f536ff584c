/**
 * Browser vs Node figures (README "In the browser"): bundled and run by
 *   npx esbuild benchmarks/browser/run.ts --bundle --platform=node --packages=external --outfile=.build-dev/bench-browser.cjs && node .build-dev/bench-browser.cjs
 * Node: wasm train step and decode on wasm and cpu. Headless Chromium (test harness flags, 127.0.0.1): the train step on
 * wasm, decode tokens/s on cpu, wasm, webgl and webgpu (SwiftShader: CPU-emulated GPU, not a GPU figure).
 */
import * as path from 'path';
import { bundlePage } from '../../test/browser/harness/bundle';
import { openPage } from '../../test/browser/harness/chromium';
import { Route, serveStatic, TYPES } from '../../test/browser/harness/server';
import { setupNode } from '../../src/node/setup';
import { bench } from './page';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const ROOT = path.resolve(__dirname, '..');
const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));

async function main(): Promise<void> {
  setupNode();
  for (const b of ['wasm', 'cpu']) console.log(`node ${await bench(b, REPS, b === 'wasm')}`);
  const bundle = await bundlePage(path.join(ROOT, 'benchmarks', 'browser', 'page.ts'));
  const routes = new Map<string, Route>([
    ['/bench.js', { type: TYPES.js, body: bundle.code }],
    ['/', { type: TYPES.html, body: '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/bench.js"></script>' }],
  ]);
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) routes.set(`/wasm/${f}`, { type: TYPES.wasm, file: path.join(WASM_DIR, f) });
  const server = await serveStatic(routes);
  const s = await openPage(`${server.origin}/`);
  try {
    await s.page.waitForFunction(() => (globalThis as { harnessReady?: boolean }).harnessReady === true, null, { timeout: 60000 });
    for (const b of ['wasm', 'cpu', 'webgl', 'webgpu']) {
      const r = await s.page.evaluate(([name, reps, train]) => (globalThis as unknown as { benchPage: { bench: typeof bench } }).benchPage.bench(name as string, reps as number, train as boolean), [b, REPS, b === 'wasm'] as const);
      console.log(`chromium ${r}`);
    }
  } catch (e) {
    console.error(s.console.join('\n'));
    throw e;
  } finally {
    await s.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(`benchmarks/browser/run.ts: ${(e as Error).message}`);
  process.exit(1);
});
