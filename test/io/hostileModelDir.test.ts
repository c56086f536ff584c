/**
 * Hostile model directories (issue #12): manifest paths that leave the directory, sizes in config.json or
 * model.json that the weight files do not back, special files, and messages that name the file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import '../../src/index';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { exportHf } from '../../src/io/hf/exportHf';
import { loadModel } from '../../src/io/loadModel';
import { resolveInside } from '../../src/io/safePath';
import { capList } from '../../src/io/describeValue';
import { fixtureDir } from '../helpers/fixtures';

let tmp: string;
let model: string; // a converted tfjs model directory (read-only template)

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-hostile-'));
  model = path.join(tmp, 'model');
  await convertCheckpoint(fixtureDir('tiny-hf'), model);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of the template model directory with model.json edited by `edit`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function variant(name: string, edit: (json: Record<string, any>, dir: string) => void): string {
  const dir = path.join(tmp, name);
  fs.cpSync(model, dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(json, dir);
  fs.writeFileSync(file, JSON.stringify(json));
  return dir;
}

/** Every loader of a tfjs model directory, each expected to reject with `pattern`. */
async function expectEveryLoaderRejects(dir: string, pattern: RegExp): Promise<void> {
  await expect(tf.loadLayersModel(`file://${dir}/model.json`)).rejects.toThrow(pattern);
  await expect(loadModel(dir)).rejects.toThrow(pattern);
  await expect(exportHf(dir, path.join(tmp, `export-${path.basename(dir)}`))).rejects.toThrow(pattern);
  expect(fs.existsSync(path.join(tmp, `export-${path.basename(dir)}`))).toBe(false);
}

describe('manifest paths stay inside the model directory', () => {
  test('resolveInside refuses "..", absolute paths, non-strings and symlinks out; accepts plain names', () => {
    const dir = path.join(tmp, 'paths');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(tmp, 'secret.bin'), 'secret');
    fs.symlinkSync(path.join(tmp, 'secret.bin'), path.join(dir, 'link.bin'));
    fs.writeFileSync(path.join(dir, 'ok.bin'), 'x');
    fs.symlinkSync(path.join(dir, 'ok.bin'), path.join(dir, 'inner.bin'));
    expect(resolveInside(dir, 'ok.bin', 'm.json')).toBe(path.join(dir, 'ok.bin'));
    expect(resolveInside(dir, 'inner.bin', 'm.json')).toBe(path.join(dir, 'inner.bin')); // a link inside is fine
    expect(() => resolveInside(dir, '../secret.bin', 'm.json')).toThrow(/m\.json: weight file path "\.\.\/secret\.bin" leaves the model directory/);
    expect(() => resolveInside(dir, 'a/../../secret.bin', 'm.json')).toThrow(/leaves the model directory/);
    expect(() => resolveInside(dir, '/etc/passwd', 'm.json')).toThrow(/leaves the model directory/);
    expect(() => resolveInside(dir, 'link.bin', 'm.json')).toThrow(/symbolic link to .*secret\.bin, outside the model directory/);
    expect(() => resolveInside(dir, 42, 'm.json')).toThrow(/expected a weight file name/);
  });

  test.each([
    ['dotdot', '../secret-copy.bin', /leaves the model directory/],
    ['absolute', '/etc/hostname', /leaves the model directory/],
    ['symlink', 'link.bin', /symbolic link to .*outside the model directory/],
  ])('%s: every loader refuses (file://, streaming, export-hf)', async (name, rel, pattern) => {
    const dir = variant(name, (json, d) => {
      const shard = json.weightsManifest[0].paths[0];
      fs.copyFileSync(path.join(d, shard), path.join(tmp, 'secret-copy.bin')); // same size: only the path is wrong
      if (name === 'symlink') fs.symlinkSync(path.join(tmp, 'secret-copy.bin'), path.join(d, 'link.bin'));
      json.weightsManifest[0].paths[0] = rel;
    });
    await expectEveryLoaderRejects(dir, pattern);
  });
});

describe('sizes are checked against the files before anything is built', () => {
  const hfConfig = JSON.parse(fs.readFileSync(path.join(fixtureDir('tiny-hf'), 'config.json'), 'utf8'));
  /** A checkpoint directory: the tiny-hf weights under an edited config.json. */
  function checkpoint(name: string, edit: Record<string, unknown>): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(fixtureDir('tiny-hf'), 'model.safetensors'), path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...hfConfig, ...edit }));
    return dir;
  }

  test.each([
    ['2^24 layers', { num_hidden_layers: 2 ** 24 }, /has \d+ weights, but the weight files hold only \d+ tensors/],
    ['100 000 layers', { num_hidden_layers: 100_000 }, /has \d+ weights, but the weight files hold only \d+ tensors/],
    ['hidden_size 8192', { hidden_size: 8192 }, /shape mismatch for "backbone\.embeddings\.weight"/],
  ])('config.json with %s: load and convert fail fast with a short line', async (name, edit, pattern) => {
    const dir = checkpoint(name.replace(/\W/g, ''), edit);
    for (const run of [() => loadCheckpoint(dir), () => convertCheckpoint(dir, path.join(dir, 'out'))]) {
      const t0 = Date.now();
      const before = process.memoryUsage().rss;
      const err = await run().then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(pattern);
      expect(err!.message.length).toBeLessThan(400);
      expect(err!.message).not.toContain('\n');
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);
    }
  });

  test.each([
    ['n_layers 2^24', { n_layers: 2 ** 24 }, /has \d+ weights, but the weight files hold only/],
    ['d_model 8192', { d_model: 8192 }, /shape mismatch for "backbone\.embeddings\.weight"/],
  ])('model.json topology with %s: every loader fails before building', async (name, edit, pattern) => {
    const dir = variant(name.replace(/\W/g, ''), (json) => {
      const lm = json.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === 'MambaLM');
      Object.assign(lm.config, edit);
    });
    const t0 = Date.now();
    await expectEveryLoaderRejects(dir, pattern);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('a long list in a message is capped', () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `backbone.layers.${i}.norm.weight`);
    const s = capList(names);
    expect(s).toMatch(/^backbone\.layers\.0\.norm\.weight, .*, \.\.\. \(100000 in all\)$/);
    expect(s.length).toBeLessThan(400);
  });
});

describe('model.json contents are checked before use', () => {
  test('no modelTopology: one line naming the file, not a TypeError', async () => {
    const dir = variant('notopology', (json) => {
      delete json.modelTopology;
    });
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: expected a "modelTopology" object \(a tfjs layers model\), got none/);
  });

  test.each([
    ['a string shape', { shape: '3' }, /has shape "3", expected an array of non-negative integers/],
    ['a string dtype', { dtype: 'string' }, /has dtype "string", expected float32/],
    // int32 is an int8 model's word type (layers/int8.ts): refused where the model expects float32.
    ['an int32 dtype', { dtype: 'int32' }, /"backbone\.embeddings\.weight" (is stored int32, the model expects float32|is int32 \(int8 words\), expected float32)/],
  ])('a weight spec with %s is refused before any size work', async (name, edit, pattern) => {
    const dir = variant(name.replace(/\W/g, ''), (json) => {
      Object.assign(json.weightsManifest[0].weights[0], edit);
    });
    await expect(loadModel(dir)).rejects.toThrow(pattern);
    await expect(exportHf(dir, path.join(tmp, `x-${name.replace(/\W/g, '')}`))).rejects.toThrow(pattern);
    if (name !== 'an int32 dtype') await expect(tf.loadLayersModel(`file://${dir}/model.json`)).rejects.toThrow(pattern);
  });

  test('an empty or truncated model.json is named with the parse error', async () => {
    const dir = variant('emptyjson', () => undefined);
    fs.writeFileSync(path.join(dir, 'model.json'), '');
    await expect(loadModel(dir)).rejects.toThrow(new RegExp(`${dir}/model\\.json: expected a tfjs model\\.json \\(JSON\\), got a parse error: the file is empty`));
    await expect(tf.loadLayersModel(`file://${dir}/model.json`)).rejects.toThrow(/model\.json: expected a tfjs model\.json \(JSON\)/);
  });
});

describe('special files and unreadable directories', () => {
  test('config.json pointing at /dev/zero or a FIFO: refused at once, naming the file', async () => {
    const zero = path.join(tmp, 'devzero');
    fs.mkdirSync(zero);
    fs.symlinkSync('/dev/zero', path.join(zero, 'config.json'));
    await expect(loadCheckpoint(zero)).rejects.toThrow(/config\.json: expected a checkpoint config\.json \(a regular file\), got a character device/);
    const fifo = path.join(tmp, 'fifo');
    fs.mkdirSync(fifo);
    execFileSync('mkfifo', [path.join(fifo, 'config.json')]);
    await expect(loadCheckpoint(fifo)).rejects.toThrow(/config\.json: expected a checkpoint config\.json \(a regular file\), got a FIFO/);
    const dir = variant('modeljsonfifo', () => undefined);
    fs.rmSync(path.join(dir, 'model.json'));
    execFileSync('mkfifo', [path.join(dir, 'model.json')]);
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: expected a tfjs model\.json \(a regular file\), got a FIFO/);
  });

  test('config.json that is a directory, an unreadable directory, a symlink loop: said as such', async () => {
    const isDir = path.join(tmp, 'cfgdir');
    fs.mkdirSync(path.join(isDir, 'config.json'), { recursive: true });
    await expect(loadCheckpoint(isDir)).rejects.toThrow(/config\.json: expected a checkpoint config\.json \(a regular file\), got a directory/);
    const loop = path.join(tmp, 'loop');
    fs.symlinkSync(loop, loop);
    await expect(loadModel(loop)).rejects.toThrow(/expected a model directory .*, got .*loop \(a loop of symbolic links\)/);
    if (process.getuid?.() !== 0) {
      const locked = path.join(tmp, 'locked');
      fs.mkdirSync(locked, { mode: 0o000 });
      await expect(loadModel(locked)).rejects.toThrow(/expected a model directory .*, got .*locked \(its files cannot be listed: permission denied\)/);
      fs.chmodSync(locked, 0o755);
    }
  });
});
