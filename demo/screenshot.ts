/**
 * The README screenshot (`npm run demo -- --screenshot`): serves demo/dist and test/fixtures (as /fixtures/) from
 * 127.0.0.1, opens the page in headless Chromium (the test harness's flags), trains a few steps on wasm, generates
 * from the tiny fixture with the GPT-NeoX tokenizer, and writes docs/images/demo.png.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openPage } from '../test/browser/harness/chromium';
import { Route, serveStatic, TYPES } from '../test/browser/harness/server';

const ROOT = path.resolve(__dirname, '..'); // the bundle runs from .build-dev/
const STEPS = Number(process.env.DEMO_STEPS ?? 40);

/** Every file under `dir` as a route under `prefix`. */
function addTree(routes: Map<string, Route>, dir: string, prefix: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) addTree(routes, file, `${prefix}${e.name}/`);
    else routes.set(`${prefix}${e.name}`, { type: TYPES[path.extname(e.name).slice(1)] ?? TYPES.bin, file });
  }
}

async function main(): Promise<void> {
  const routes = new Map<string, Route>();
  addTree(routes, path.join(ROOT, 'demo', 'dist'), '/');
  addTree(routes, path.join(ROOT, 'test', 'fixtures', 'tiny-hf'), '/fixtures/tiny-hf/');
  addTree(routes, path.join(ROOT, 'test', 'fixtures', 'tokenizers'), '/fixtures/tokenizers/');
  routes.set('/', routes.get('/index.html') as Route);
  const server = await serveStatic(routes);
  const s = await openPage(`${server.origin}/`);
  try {
    const { page } = s;
    await page.setViewportSize({ width: 900, height: 820 });
    await page.waitForFunction(() => (globalThis as { demoReady?: boolean }).demoReady === true, null, { timeout: 60000 });
    await page.click('#train');
    await page.waitForFunction((n) => Number(/step (\d+)/.exec(document.getElementById('trainStat')?.textContent ?? '')?.[1]) >= n, STEPS, { timeout: 300000, polling: 500 });
    await page.click('#stop');
    await page.click('#generate');
    await page.waitForFunction(() => (globalThis as { demoGenerated?: boolean }).demoGenerated === true, null, { timeout: 120000 });
    const out = path.join(ROOT, 'docs', 'images', 'demo.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    const text = await page.evaluate(() => ['running', 'trainStat', 'genStat'].map((id) => document.getElementById(id)?.textContent).join('\n'));
    console.log(`${text}\nwrote ${path.relative(ROOT, out)}`);
  } catch (e) {
    console.error(s.console.join('\n'));
    throw e;
  } finally {
    await s.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(`demo/screenshot.ts: ${(e as Error).message}`);
  process.exit(1);
});
