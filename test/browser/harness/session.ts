/**
 * One browser test's setup: bundle a page entry, serve it (plus extra routes) from 127.0.0.1, open it in
 * headless Chromium and wait until the page says it is ready (`globalThis.harnessReady === true`), or
 * fail with the page's console.
 */
import * as path from 'path';
import { bundlePage } from './bundle';
import { openPage, BrowserSession } from './chromium';
import { Route, serveStatic, StaticServer, TYPES } from './server';

/** A page served and opened. */
export interface PageSession extends BrowserSession {
  server: StaticServer;
  /** Milliseconds: bundle, launch + load. */
  timings: { bundle: number; open: number };
}

/** Pages live in test/browser/pages/<name>.ts. */
export const PAGES_DIR = path.resolve(__dirname, '..', 'pages');

/** Bundles and opens page `name`; `routes` adds files the page fetches. */
export async function openHarnessPage(name: string, routes: Map<string, Route> = new Map()): Promise<PageSession> {
  const bundle = await bundlePage(path.join(PAGES_DIR, `${name}.ts`));
  const all = new Map(routes);
  all.set(`/${name}.js`, { type: TYPES.js, body: bundle.code });
  all.set('/', { type: TYPES.html, body: `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${name}</title><script type="module" src="/${name}.js"></script>` });
  const server = await serveStatic(all);
  const t0 = Date.now();
  let session: BrowserSession;
  try {
    session = await openPage(`${server.origin}/`);
  } catch (e) {
    await server.close();
    throw e;
  }
  try {
    await session.page.waitForFunction(() => (globalThis as { harnessReady?: boolean }).harnessReady === true, null, { timeout: 30000 });
  } catch (e) {
    const log = session.console.join('\n');
    await session.close();
    await server.close();
    throw new Error(`session.ts: page ${name} never set harnessReady (${(e as Error).message.split('\n')[0]}); console:\n${log}`);
  }
  return {
    ...session,
    server,
    timings: { bundle: bundle.ms, open: Date.now() - t0 },
    close: async () => {
      await session.close();
      await server.close();
    },
  };
}
