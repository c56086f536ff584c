import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as ts from 'typescript';
import { fixtureDir } from './helpers/fixtures';

const root = path.resolve(__dirname, '..');

/** The README's usage example must be examples/quickstart.ts, and it must run against the built package. */
test('the README usage example is examples/quickstart.ts and runs', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const example = fs.readFileSync(path.join(root, 'examples/quickstart.ts'), 'utf8');
  const block = /<!-- example: examples\/quickstart.ts -->\s*```ts\n([\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  expect((block as RegExpExecArray)[1].trim()).toBe(example.trim());

  const js = ts
    .transpileModule(example, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } })
    .outputText.replace(/require\("mamba-tfjs"\)/g, JSON.stringify(path.join(root, 'dist/node.js')).replace(/^/, 'require(') + ')');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-readme-'));
  fs.writeFileSync(path.join(dir, 'quickstart.js'), js);
  const out = execFileSync(process.execPath, ['quickstart.js', '--backend', 'cpu'], {
    cwd: dir,
    env: { ...process.env, NODE_PATH: path.join(root, 'node_modules'), MAMBA_CHECKPOINT: fixtureDir('tiny-hf') },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  expect(out).toMatch(/^backend: cpu$/m); // --backend is honoured
  expect(out).toMatch(/sequential loss per epoch: \[/);
  expect(out).toMatch(/logits shape: \[ 2, 16, 256 \]/);
  expect(out).toMatch(/reloaded logits equal: true/);
  expect(out).toMatch(/checkpoint parameters: \d+/);
  const saved = /^saved to (.*)$/m.exec(out)?.[1] ?? '';
  expect(path.dirname(saved)).toBe(os.tmpdir()); // under the system temp folder, not the working directory
  expect(fs.existsSync(path.join(saved, 'model.json'))).toBe(true);
  expect(fs.readdirSync(dir)).toEqual(['quickstart.js']);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(saved, { recursive: true, force: true });
});
