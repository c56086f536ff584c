#!/usr/bin/env node
/**
 * Runs one of the TypeScript examples in this folder without a build step:
 *
 *   node examples/run.js worldModel --epochs 10
 *   node examples/run.js examples/pretrainedLLM.ts ../mamba-130m-hf --prompt "Mamba is"
 *
 * The first argument names the example (with or without folder and `.ts`); the rest are its flags.
 * `.ts` files (the example and the package sources under src/ it imports) are compiled on load, one file at a
 * time, with TypeScript's transpileModule, the way ts-jest runs the tests: no type checking here (the test
 * suite type-checks the examples, test/examples/typecheck.test.ts). Compiled files are cached in
 * node_modules/.cache/mamba-tfjs-examples, so only the first run pays for the compiler (a few seconds).
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const Module = require('module');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');

/** Compiled files, by a hash of their path and source, so that later runs skip the compiler. */
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'mamba-tfjs-examples');

/** How the examples and src/ compile: as tsconfig.json, to CommonJS. */
const OPTIONS = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true, // stack traces point into the .ts files
};

/** TypeScript → CommonJS JavaScript, one file at a time. */
function compile(source, filename) {
  const key = crypto.createHash('sha1').update(`${ts.version}\0${JSON.stringify(OPTIONS)}\0${filename}\0${source}`).digest('hex');
  const cached = path.join(CACHE, `${key}.js`);
  if (fs.existsSync(cached)) return fs.readFileSync(cached, 'utf8');
  const { outputText } = ts.transpileModule(source, { fileName: filename, compilerOptions: OPTIONS });
  try {
    fs.mkdirSync(CACHE, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, outputText);
    fs.renameSync(tmp, cached); // atomic: concurrent runs never read half a file
  } catch {
    // a read-only checkout: compile every time
  }
  return outputText;
}

/** Compile a .ts file when it is required. */
require.extensions['.ts'] = (module, filename) => {
  module._compile(compile(fs.readFileSync(filename, 'utf8'), filename), filename);
};

/** `import 'mamba-tfjs'` (as examples/quickstart.ts writes it) loads this checkout's sources. */
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolveFilename.call(this, request === 'mamba-tfjs' ? path.join(ROOT, 'src', 'node') : request, ...rest);
};

/** The example file named by `name` ('worldModel', 'worldModel.ts' or 'examples/worldModel.ts'). */
function resolveExample(name) {
  const base = path.basename(name).replace(/\.ts$/, '');
  const file = path.join(__dirname, `${base}.ts`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(__dirname).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    throw new Error(`no example "${name}": expected one of ${known.join(', ')}`);
  }
  return file;
}

/** Ends the run with one line on stderr (the stack only with MAMBA_TFJS_DEBUG set). */
function fail(e) {
  console.error(`examples/run.js: ${e && e.message ? e.message : String(e)}`);
  if (process.env.MAMBA_TFJS_DEBUG) console.error(e);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const [name, ...flags] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log('usage: node examples/run.js <example> [flags]   (<example> --help lists its flags; see examples/README.md)');
  process.exit(name ? 0 : 1);
}
let file;
try {
  file = resolveExample(name);
} catch (e) {
  fail(e);
}
if ((flags.includes('--help') || flags.includes('-h')) && !fs.readFileSync(file, 'utf8').includes('readFlags(')) {
  // An example that reads process.argv itself (quickstart, the README's code): its flags from the source.
  const own = [...fs.readFileSync(file, 'utf8').matchAll(/process\.argv\.indexOf\('(--[\w-]+)'\)/g)].map((m) => `[${m[1]} VALUE]`);
  console.log(`usage: node examples/run.js ${path.basename(file, '.ts')} ${own.join(' ')}   (see examples/README.md)`.replace(/ +\(/, '   ('));
  process.exit(0);
}
process.argv = [process.argv[0], file, ...flags]; // the example reads its flags from process.argv.slice(2)
require(file);
