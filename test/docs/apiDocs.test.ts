/**
 * The API reference (`npm run docs:api`): TypeDoc over the public exports of src/index.ts and src/node.ts must
 * build with no warning, and every exported symbol must carry documentation (typedoc.json turns a missing comment
 * into an error). Runs TypeDoc once, into a temporary folder, writing HTML and the JSON model.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The parts of TypeDoc's JSON model this test reads. */
interface Reflection {
  name: string;
  variant?: string;
  kind: number;
  comment?: { summary: { text: string }[] };
  signatures?: Reflection[];
  children?: Reflection[];
}

/** TypeDoc's ReflectionKind.Reference: a re-export, documented where it is declared. */
const REFERENCE = 4194304;
/** ReflectionKind.Namespace (`flags`). */
const NAMESPACE = 4;

/** The comment text of an export, from itself or its first signature. */
function commentOf(r: Reflection): string {
  const c = r.comment ?? r.signatures?.[0]?.comment;
  return (c?.summary ?? []).map((p) => p.text).join('').trim();
}

describe('API reference', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-api-'));
  let log = '';
  let model: Reflection;

  beforeAll(() => {
    const started = Date.now();
    log = execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', path.join(out, 'html'), '--json', path.join(out, 'api.json')], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 110_000,
    });
    console.log(`typedoc: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    model = JSON.parse(fs.readFileSync(path.join(out, 'api.json'), 'utf8')) as Reflection;
  });

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('npm run docs:api runs TypeDoc with typedoc.json, which fails on an undocumented export', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['docs:api']).toBe('typedoc');
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'typedoc.json'), 'utf8')) as Record<string, unknown>;
    expect(config.entryPoints).toEqual(['src/index.ts', 'src/node.ts']);
    expect(config.out).toBe('docs/api');
    expect(config.validation).toMatchObject({ notDocumented: true, notExported: true });
    expect(config.treatValidationWarningsAsErrors).toBe(true);
    expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8')).toMatch(/^docs\/api\/$/m);
  });

  test('TypeDoc builds both entries with no warning and writes the HTML', () => {
    expect(log).not.toMatch(/\[warning\]|\[error\]/);
    expect(fs.existsSync(path.join(out, 'html', 'index.html'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'html', 'classes', 'index.MambaLM.html'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'html', 'functions', 'node.loadCheckpoint.html'))).toBe(true);
  });

  test('every export of both entries is documented', () => {
    const modules = new Map((model.children ?? []).map((m) => [m.name, m]));
    expect([...modules.keys()].sort()).toEqual(['index', 'node']);
    const core = modules.get('index')!.children ?? [];
    const node = modules.get('node')!.children ?? [];
    // The core entry's own symbols; the Node entry re-exports all of them and adds the file-system side.
    expect(core.length).toBeGreaterThan(60);
    for (const name of ['MambaLM', 'selectiveScan', 'selectBackend', 'generate', 'registerKernels', 'flags', 'FlatAdam']) {
      expect(core.map((r) => r.name)).toContain(name);
    }
    for (const name of ['loadCheckpoint', 'convertCheckpoint', 'exportHf', 'loadModel', 'loadTokenizer', 'nodeBackends', 'fileSystem']) {
      expect(node.map((r) => r.name)).toContain(name);
      expect(core.map((r) => r.name)).not.toContain(name); // Node-only: not in the browser-safe entry
    }
    const undocumented: string[] = [];
    const check = (r: Reflection, prefix: string): void => {
      if (r.kind === REFERENCE) return;
      if (r.kind === NAMESPACE) {
        for (const c of r.children ?? []) check(c, `${prefix}${r.name}.`);
        return;
      }
      if (commentOf(r) === '') undocumented.push(prefix + r.name);
    };
    for (const r of [...core, ...node]) check(r, '');
    expect(undocumented).toEqual([]);
    const doc = (name: string) => commentOf(core.find((r) => r.name === name)!);
    expect(doc('selectBackend')).toMatch(/Make a backend active/);
    expect(doc('FlatAdam')).toMatch(/tf\.train\.adam/);
  });
});
