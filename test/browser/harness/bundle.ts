/**
 * Bundles a browser entry (test/browser/pages/*.ts) with esbuild: platform browser, ESM, tfjs resolved once
 * through its "browser"/"module" fields. No Node built-in is stubbed: a src/ module that reaches one fails the
 * bundle (the core is browser-clean, issue #14).
 */
import * as esbuild from 'esbuild';

/** A bundled page script. */
export interface Bundle {
  /** The JavaScript (ESM). */
  code: string;
  /** Build time in ms. */
  ms: number;
}

/** Bundles `entry` (an absolute path) in memory. */
export async function bundlePage(entry: string): Promise<Bundle> {
  const t0 = Date.now();
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  if (result.errors.length > 0 || result.outputFiles.length !== 1) {
    const msgs = await esbuild.formatMessages(result.errors, { kind: 'error' });
    throw new Error(`bundle.ts: esbuild failed on ${entry}:\n${msgs.join('\n')}`);
  }
  return { code: result.outputFiles[0].text, ms: Date.now() - t0 };
}
