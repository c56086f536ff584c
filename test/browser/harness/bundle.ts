/**
 * Bundles a browser entry (test/browser/pages/*.ts) with esbuild: platform browser, ESM, tfjs resolved
 * once through its "browser"/"module" fields, Node built-ins stubbed (./nodeStubs).
 */
import * as esbuild from 'esbuild';
import { nodeStubs } from './nodeStubs';

/** A bundled page script. */
export interface Bundle {
  /** The JavaScript (ESM). */
  code: string;
  /** Node built-ins stubbed, as 'name <- importer'. */
  stubbed: string[];
  /** Build time in ms. */
  ms: number;
}

/** Bundles `entry` (an absolute path) in memory. */
export async function bundlePage(entry: string): Promise<Bundle> {
  const t0 = Date.now();
  const stubbed = new Set<string>();
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
    // src/ops/scanWasmModule.ts reads __dirname; process.env reads are guarded by `typeof process`.
    define: { __dirname: '"/"', 'process.env.NODE_ENV': '"production"' },
    plugins: [nodeStubs(stubbed)],
  });
  if (result.errors.length > 0 || result.outputFiles.length !== 1) {
    const msgs = await esbuild.formatMessages(result.errors, { kind: 'error' });
    throw new Error(`bundle.ts: esbuild failed on ${entry}:\n${msgs.join('\n')}`);
  }
  return { code: result.outputFiles[0].text, stubbed: [...stubbed].sort(), ms: Date.now() - t0 };
}
