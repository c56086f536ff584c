/**
 * The shape of src/ that the project's layout rules promise (README "Layout"): no import cycle, no file over
 * 350 lines, and bare imports limited to the tfjs peers, node built-ins and declared dependencies — never the
 * @tensorflow/tfjs umbrella or a backend package (those load lazily through src/backend.ts).
 */
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The module specifiers a file imports or re-exports (static imports, `export … from`, `import('…')`). */
function specifiers(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\('([^']+)'\)/gm)) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

function resolveLocal(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const cand of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(cand)) return cand;
  throw new Error(`${path.relative(ROOT, from)}: cannot resolve '${spec}'`);
}

const FILES = sources(SRC);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('no import cycle in src/ (type-only imports included)', () => {
  const graph = new Map(FILES.map((f) => [f, specifiers(f).filter((s) => s.startsWith('.')).map((s) => resolveLocal(f, s))]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...stack.slice(stack.indexOf(f)), f].map((p) => path.relative(SRC, p)).join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const g of graph.get(f) ?? []) visit(g, [...stack, f]);
    state.set(f, 'done');
  };
  for (const f of FILES) visit(f, []);
  expect(cycles).toEqual([]);
});

test('no file in src/ is over 350 lines', () => {
  const long = FILES.map((f) => [path.relative(ROOT, f), fs.readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 350);
  expect(long).toEqual([]);
});

test('bare imports are the tfjs peers, node built-ins or declared dependencies only', () => {
  const allowed = new Set(['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', ...Object.keys(pkg.dependencies)]);
  const bad: string[] = [];
  for (const f of FILES) {
    for (const s of specifiers(f)) {
      if (s.startsWith('.')) continue;
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0];
      const builtin = builtinModules.includes(name.replace(/^node:/, ''));
      if (!builtin && !allowed.has(name)) bad.push(`${path.relative(ROOT, f)}: '${s}'`);
      if (/^@tensorflow\/tfjs(-backend-|-node|$)/.test(name)) bad.push(`${path.relative(ROOT, f)}: static import of '${s}'`);
    }
  }
  expect(bad).toEqual([]);
});

test('the core entry (src/index.ts) reaches only @tensorflow/tfjs-core and -layers: no Node built-in, no I/O package', () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const walk = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const s of specifiers(f)) {
      if (s.startsWith('.')) walk(resolveLocal(f, s));
      else if (s !== '@tensorflow/tfjs-core' && s !== '@tensorflow/tfjs-layers' && !s.startsWith('@tensorflow/tfjs-layers/')) {
        bad.push(`${path.relative(ROOT, f)}: '${s}'`);
      }
    }
    const text = fs.readFileSync(f, 'utf8');
    if (/\brequire\(|__dirname|\bBuffer\./.test(text)) bad.push(`${path.relative(ROOT, f)}: require/__dirname/Buffer`);
  };
  walk(path.join(SRC, 'index.ts'));
  expect(bad).toEqual([]);
  expect(seen.size).toBeGreaterThan(40);
});

test('a clone alone runs the tests: nothing the tests, examples or notebooks read lies outside the project', () => {
  const roots = ['test', 'examples', 'notebooks', 'fuzz', 'scripts'].map((d) => path.join(ROOT, d));
  const files = roots.flatMap((d) => (fs.existsSync(d) ? listFiles(d) : [])).filter((f) => /\.(ts|js|ipynb|sh)$/.test(f));
  const outside = files.filter((f) => /\.\.\/shared\/|['"]shared['"],\s*['"](fixtures|tokenizers|tools)['"]/.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(ROOT, f));
  expect(outside.filter((f) => f !== 'test/layout.test.ts')).toEqual([]);
});

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? (e.name === 'node_modules' || e.name === 'fixtures' ? [] : listFiles(p)) : [p];
  });
}
