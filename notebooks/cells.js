#!/usr/bin/env node
/**
 * Runs a notebook's code cells, in order, as one plain Node.js script, without Jupyter: the check of the
 * notebooks that the test suite runs (test/examples/notebooks.test.ts). `npm run notebooks` runs them for real,
 * in Jupyter with the tslab kernel.
 *
 * How it differs from tslab: the cells are transpiled, not type-checked; their import lines are hoisted and the
 * rest runs inside one async function (so top-level await works); `import … from 'tslab'` gets a stand-in
 * whose display functions print a one-line note; the working directory is the notebook's folder, as in Jupyter.
 * The notebooks import the built package (../dist): run `npm run build` first.
 *
 * Usage: node notebooks/cells.js NOTEBOOK.ipynb
 */
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');
const ts = require('typescript');

/** The code cells' sources, in order. */
function codeCells(file) {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
}

/** One TypeScript module: every cell's single-line imports first, then the cells' other lines in an async main. */
function asScript(cells) {
  const imports = [];
  const bodies = cells.map((source, i) => {
    const rest = source.split('\n').filter((line) => {
      const isImport = /^import\s.+\sfrom\s+['"][^'"]+['"];?\s*(\/\/.*)?$/.test(line);
      if (isImport) imports.push(line);
      return !isImport;
    });
    return `// --- code cell ${i + 1}\n${rest.join('\n')}`;
  });
  return `${imports.join('\n')}\nexport async function main(): Promise<void> {\n${bodies.join('\n')}\n}\n`;
}

/** What `import * as tslab from 'tslab'` gives outside Jupyter. */
const tslabStandIn = {
  display: Object.fromEntries(['png', 'jpeg', 'gif', 'svg', 'html', 'markdown', 'text', 'javascript', 'latex'].map((kind) => [
    kind,
    (data) => console.log(`[display.${kind}: ${data && data.length !== undefined ? `${data.length} ${typeof data === 'string' ? 'characters' : 'bytes'}` : typeof data}]`),
  ])),
};

async function run(file) {
  const dir = path.dirname(path.resolve(file));
  const js = ts.transpileModule(asScript(codeCells(file)), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === 'tslab' ? tslabStandIn : load.call(this, request, ...rest);
  };
  process.chdir(dir); // Jupyter starts the kernel in the notebook's folder
  const script = new Module(path.join(dir, '__cells__.js'));
  script.filename = path.join(dir, '__cells__.js');
  script.paths = Module._nodeModulePaths(dir); // requires resolve from the notebook's folder
  script._compile(js, script.filename);
  await script.exports.main();
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node notebooks/cells.js NOTEBOOK.ipynb');
  process.exit(2);
}
run(file).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
