/**
 * The layout docs follow the tree (issue #10: "the tree matches README's layout table"): README's Layout table has
 * one row per src/ folder that holds files and no row for a folder that is gone; docs/architecture.md names every
 * src/ file; and every repository path the docs mention exists (paths go stale when files move).
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

/** Every file under `dir` (relative to the root), recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = `${dir}/${e.name}`;
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** The docs checked for stale paths (docs/mutation.md records a past run at a named commit, so it keeps its paths). */
const DOCS = ['README.md', 'docs/architecture.md', 'docs/limits.md', 'docs/parallel-scan.md', 'docs/mamba2-ssd.md', 'docs/generation.md', 'examples/README.md'];

test("README's Layout table has one row per src/ folder that holds files", () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Layout'));
  const rows = [...section.matchAll(/^\| `(src\/[^`]*)` \|/gm)].map((m) => m[1].replace(/\/?$/, '/'));
  const folders = [...new Set(filesUnder('src').map((f) => path.posix.dirname(f) + '/'))];
  expect(rows.length).toBeGreaterThan(20);
  expect([...rows].sort()).toEqual([...folders].sort());
});

test('docs/architecture.md names every src/ file', () => {
  const doc = read('docs/architecture.md');
  const missing = filesUnder('src').filter((f) => !doc.includes(path.posix.basename(f)));
  expect(missing).toEqual([]);
});

test('every repository path the docs mention exists', () => {
  const stale: string[] = [];
  for (const doc of DOCS) {
    for (const m of read(doc).matchAll(/\b(?:src|test|scripts|fuzz|asm|benchmarks|examples|notebooks)\/[\w./-]*\w/g)) {
      if (!fs.existsSync(path.join(ROOT, m[0]))) stale.push(`${doc}: ${m[0]}`);
    }
  }
  expect(stale).toEqual([]);
});
