/**
 * An esbuild plugin that replaces Node built-ins (fs, path, os, …, and their `node:` names) with small
 * browser stubs, so that src/ modules which still import them (src/ops/scanWasmModule.ts: fs, path;
 * src/io/*: fs, path, crypto, stream, …) bundle for the page.
 *
 * Only imports from outside node_modules are stubbed: tfjs's own packages map their built-ins away through
 * their package.json "browser" fields, which esbuild honours.
 *
 * TEMPORARY (issue #14): the lead is making the core browser-clean; once src/ imports no built-in on the
 * paths the pages use, this plugin finds nothing to stub (the tests log PageSession.stubbedBySrc) and can go.
 *
 * Stubs: fs reports every file as missing (so scanWasmModule's loader returns null and the fused scan runs
 * its JS loops: the SIMD module is NOT exercised in the browser yet) and throws on reads; path joins with
 * '/'; every other built-in is an empty object.
 */
import type { Plugin } from 'esbuild';
import { builtinModules } from 'module';
import * as path from 'path';

const NAMESPACE = 'node-builtin-stub';

/** Source of the stub for built-in `name` (CommonJS, so any named import bundles). */
function stubSource(name: string): string {
  const unavailable = `function () { throw new Error('${name} is not available in the browser (test/browser/harness/nodeStubs.ts)'); }`;
  if (name === 'fs' || name === 'fs/promises') {
    return `const no = ${unavailable};
module.exports = { existsSync: () => false, statSync: no, readFileSync: no, writeFileSync: no, openSync: no,
  readdirSync: no, createReadStream: no, createWriteStream: no, mkdirSync: no,
  promises: { open: no, readFile: no, writeFile: no, stat: no } };`;
  }
  if (name === 'path') {
    return `const join = (...p) => p.filter((s) => s !== '').join('/').replace(/\\/+/g, '/');
module.exports = { join, resolve: join, sep: '/', dirname: (p) => p.replace(/\\/[^/]*$/, '') || '/',
  basename: (p) => p.replace(/^.*\\//, ''), extname: (p) => (/\\.[^./]*$/.exec(p) || [''])[0] };`;
  }
  return 'module.exports = {};';
}

/**
 * The plugin; `stubbed` collects what it replaced as 'name <- importer' (importer relative to the working
 * directory), to report which src/ files still import built-ins.
 * @param stubbed set that receives each 'name <- importer'
 */
export function nodeStubs(stubbed: Set<string> = new Set()): Plugin {
  const names = new Set(builtinModules);
  return {
    name: 'node-builtin-stubs',
    setup(build) {
      build.onResolve({ filter: /^[a-z_/:]+$/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        if (!names.has(bare) || args.importer.includes('/node_modules/')) return undefined;
        stubbed.add(`${bare} <- ${path.relative(process.cwd(), args.importer)}`);
        return { path: bare, namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({ contents: stubSource(args.path), loader: 'js' }));
    },
  };
}
