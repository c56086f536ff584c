#!/usr/bin/env node
/**
 * Prints what an executed notebook's cells wrote to stderr and any error outputs, cell by cell: how
 * notebooks/run.sh shows tslab's type errors and exceptions after a failed run. TensorFlow.js's one-time
 * "Hi, looks like you are running TensorFlow.js in Node.js" notice is left out.
 *
 * Usage: node notebooks/stderrOf.js EXECUTED.ipynb
 */
'use strict';
const fs = require('fs');

const file = process.argv[2];
const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
const text = (t) => (Array.isArray(t) ? t.join('') : String(t ?? ''));
let code = 0;
for (const cell of nb.cells) {
  if (cell.cell_type !== 'code') continue;
  code++;
  const said = (cell.outputs ?? [])
    .map((o) => (o.output_type === 'error' ? `${o.ename}: ${o.evalue}\n${text(o.traceback)}` : o.name === 'stderr' ? text(o.text) : ''))
    .join('')
    .replace(/\n?=+\nHi, looks like you are running TensorFlow\.js in Node\.js[^\n]*\n=+\n?/, '')
    .trim();
  if (!said) continue;
  const first = text(cell.source).split('\n').find((l) => l.trim()) ?? '';
  console.log(`--- code cell ${code} (${first.slice(0, 70)})\n${said}`);
}
