/**
 * `mamba-tfjs convert`: every fixture checkpoint converted through the CLI and loaded back with plain
 * tf.loadLayersModel gives the reference logits; float16 halves the size; sharded inputs and outputs;
 * bad inputs fail with a clear error and leave no output directory behind.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '../../src/node';
import { registerConvertCommand } from '../../src/cli/convertCommand';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { findMambaLM } from '../../src/layers/factories';
import { SafetensorsFile, SafetensorsTensorIn, writeSafetensors } from '../../src/io/safetensors';
import { FIXTURE_NAMES, FixtureName, fixtureDir, openReference } from '../helpers/fixtures';
import { runCommand } from '../helpers/cliRun';
import { P, torchZip } from '../helpers/torchZip';

let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-convert-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const convert = (...argv: string[]) => runCommand(registerConvertCommand, ['convert', ...argv, '--quiet']);

let counter = 0;
/** A fresh path under tmp for an output directory (its parent exists, it does not). */
function freshOut(): string {
  const parent = path.join(tmp, `case-${++counter}`);
  fs.mkdirSync(parent);
  return path.join(parent, 'out');
}

/** A checkpoint directory under tmp with `files` (content, or a path to link to). */
function checkpointDir(files: Record<string, string | Uint8Array | { link: string }>): string {
  const dir = path.join(tmp, `ckpt-${++counter}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'object' && 'link' in content) fs.symlinkSync(content.link, path.join(dir, name));
    else fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Loads `outDir` with plain tfjs and returns the max |logits − reference| on the fixture's input_ids. */
async function logitsError(outDir: string, fixture: FixtureName): Promise<number> {
  const ref = await openReference(fixture);
  const model = await tf.loadLayersModel(`file://${path.join(outDir, 'model.json')}`);
  try {
    const { data, shape } = await ref.int('input_ids');
    const refLogits = await ref.float('logits');
    const got = tf.tidy(() => {
      const logits = model.predict(tf.tensor2d(data, shape as [number, number], 'int32')) as tf.Tensor; // (B, L, V)
      expect(logits.shape).toEqual(refLogits.shape);
      return logits.dataSync() as Float32Array;
    });
    let m = 0;
    for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - refLogits.data[i]));
    return m;
  } finally {
    model.dispose();
    await ref.file.close();
  }
}

/** Sum of the sizes of the weight files in a converted directory. */
function weightBytes(outDir: string): number {
  return fs.readdirSync(outDir).filter((f) => f.endsWith('.bin')).reduce((s, f) => s + fs.statSync(path.join(outDir, f)).size, 0);
}

describe.each(FIXTURE_NAMES)('convert %s', (fixture) => {
  test('float32: loads with tf.loadLayersModel, logits within 1e-4 of the reference', async () => {
    const out = freshOut();
    const logged = await convert(fixtureDir(fixture), out);
    expect(logged.join('\n')).toMatch(/converted .* → .*out: \d+ weights/);
    expect(fs.readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    const names = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names).toContain('backbone.embeddings.weight');
    expect(names).not.toContain('lm_head.weight');
    expect(await logitsError(out, fixture)).toBeLessThanOrEqual(1e-4);
  });

  test('float16: half the bytes, loads back as float32, logits within 1e-2', async () => {
    const out32 = freshOut();
    const out16 = freshOut();
    await convert(fixtureDir(fixture), out32);
    await convert(fixtureDir(fixture), out16, '--dtype', 'float16');
    expect(weightBytes(out16) * 2).toBe(weightBytes(out32));
    const json = JSON.parse(fs.readFileSync(path.join(out16, 'model.json'), 'utf8'));
    for (const w of json.weightsManifest[0].weights) expect(w).toMatchObject({ dtype: 'float32', quantization: { dtype: 'float16' } });
    expect(await logitsError(out16, fixture)).toBeLessThanOrEqual(1e-2);
  });
});

test('--dtype accepts only float32, float16 and int8', async () => {
  await expect(convert(fixtureDir('tiny-hf'), freshOut(), '--dtype', 'int4')).rejects.toThrow(/Allowed choices are float32, float16, int8/);
});

test('small --shard-size: many group1-shardIofN.bin files, each weight inside one; still loads', async () => {
  const out = freshOut();
  await convert(fixtureDir('tiny-hf'), out, '--shard-size', '0.05'); // 52,428 bytes; the embedding alone is 256,000
  const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
  const { paths, weights } = json.weightsManifest[0] as { paths: string[]; weights: { name: string; shape: number[] }[] };
  const n = paths.length;
  expect(n).toBeGreaterThan(3);
  expect(paths).toEqual(Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`));
  // Walk the weights in order: each must end at or before the end of the shard it starts in.
  const sizes = paths.map((p) => fs.statSync(path.join(out, p)).size);
  const perShard = sizes.map(() => 0);
  let shard = 0;
  let used = 0;
  for (const w of weights) {
    const bytes = w.shape.reduce((a, b) => a * b, 1) * 4;
    if (used === sizes[shard]) {
      shard++;
      used = 0;
    }
    expect(used + bytes).toBeLessThanOrEqual(sizes[shard]);
    used += bytes;
    perShard[shard]++;
  }
  expect(shard).toBe(n - 1);
  // At most the limit, unless one weight alone is bigger (the embedding, 256,000 bytes; in_proj, 65,536).
  sizes.forEach((s, i) => expect(s <= 52428 || perShard[i] === 1).toBe(true));
  expect(await logitsError(out, 'tiny-hf')).toBeLessThanOrEqual(1e-4);
});

/** tiny-hf's tensors split into two shard files listed in model.safetensors.index.json. */
async function shardedTinyHf(): Promise<string> {
  const src = await SafetensorsFile.open(path.join(fixtureDir('tiny-hf'), 'model.safetensors'));
  const dir = checkpointDir({ 'config.json': { link: path.join(fixtureDir('tiny-hf'), 'config.json') } });
  try {
    const keys = src.keys();
    const halves = [keys.slice(0, 7), keys.slice(7)];
    const weightMap: Record<string, string> = {};
    for (const [i, part] of halves.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const tensors: SafetensorsTensorIn[] = [];
      for (const k of part) {
        tensors.push({ name: k, dtype: 'F32', shape: src.entry(k).shape, data: await src.readFloat32(k) });
        weightMap[k] = file;
      }
      await writeSafetensors(path.join(dir, file), tensors, { format: 'pt' });
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  } finally {
    await src.close();
  }
  return dir;
}

test('sharded -hf input (model.safetensors.index.json): converts, and loadCheckpoint still reads it', async () => {
  const dir = await shardedTinyHf();
  const out = freshOut();
  await convert(dir, out);
  expect(await logitsError(out, 'tiny-hf')).toBeLessThanOrEqual(1e-4);
  const direct = await loadCheckpoint(dir);
  const converted = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
  try {
    const a = findMambaLM(direct).weights;
    const b = new Map(findMambaLM(converted).weights.map((w) => [w.originalName, w]));
    for (const w of a) expect(Buffer.from((b.get(w.originalName)!.read().dataSync() as Float32Array).buffer)).toEqual(Buffer.from((w.read().dataSync() as Float32Array).buffer));
  } finally {
    direct.dispose();
    converted.dispose();
  }
});

test('tokenizer.json and tokenizer_config.json are copied beside model.json', async () => {
  const tokenizer = JSON.stringify({ version: '1.0', model: { type: 'BPE' } });
  const dir = checkpointDir({
    'config.json': { link: path.join(fixtureDir('tiny-hf'), 'config.json') },
    'model.safetensors': { link: path.join(fixtureDir('tiny-hf'), 'model.safetensors') },
    'tokenizer.json': tokenizer,
    'tokenizer_config.json': '{"eos_token": "<|endoftext|>"}',
  });
  const out = freshOut();
  await convert(dir, out);
  expect(fs.readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'tokenizer.json', 'tokenizer_config.json']);
  expect(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).toBe(tokenizer);
});

describe('existing output directories', () => {
  test('an empty one is filled', async () => {
    const out = freshOut();
    fs.mkdirSync(out);
    await convert(fixtureDir('tiny-hf-bf16'), out);
    expect(fs.existsSync(path.join(out, 'model.json'))).toBe(true);
  });

  test('a non-empty one is refused and kept; --overwrite replaces it, but not when the conversion fails', async () => {
    const out = freshOut();
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'precious');
    await expect(convert(fixtureDir('tiny-hf-bf16'), out)).rejects.toThrow(/out already exists and is not empty \(expected a new or empty directory; pass --overwrite to replace it\)/);
    expect(fs.readdirSync(out)).toEqual(['keep.txt']);
    const bad = checkpointDir({ 'config.json': '{"hidden_size": 4}' });
    await expect(convert(bad, out, '--overwrite')).rejects.toThrow(/unknown checkpoint layout/);
    expect(fs.readdirSync(out)).toEqual(['keep.txt']);
    await convert(fixtureDir('tiny-hf-bf16'), out, '--overwrite');
    expect(fs.readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['out']);
  });
});

test('an output directory that is, or contains, the checkpoint is refused even with --overwrite', async () => {
  const dir = checkpointDir({
    'config.json': { link: path.join(fixtureDir('tiny-hf-bf16'), 'config.json') },
    'model.safetensors': { link: path.join(fixtureDir('tiny-hf-bf16'), 'model.safetensors') },
  });
  await expect(convert(dir, dir, '--overwrite')).rejects.toThrow(/is or contains the input/);
  await expect(convert(dir, path.dirname(dir), '--overwrite')).rejects.toThrow(/is or contains the input/);
  expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
  const inside = path.join(dir, 'tfjs');
  await convert(dir, inside);
  expect(fs.existsSync(path.join(inside, 'model.json'))).toBe(true);
});

// ---------------------------------------------------------------------------------------------
// Bad input: a clear Error, and nothing left at (or beside) the output directory

/** Runs convert expecting `message`; checks that neither the output nor a temporary directory remains. */
async function expectCleanFailure(dir: string, message: RegExp, out = freshOut()): Promise<void> {
  await expect(convert(dir, out)).rejects.toThrow(message);
  expect(fs.existsSync(out)).toBe(false);
  const parent = path.dirname(out);
  if (fs.existsSync(parent) && fs.statSync(parent).isDirectory()) expect(fs.readdirSync(parent)).toEqual([]);
}

const HF_CONFIG = { link: path.join(fixtureDir('tiny-hf'), 'config.json') };

/** A safetensors file from a raw header object and `dataBytes` zero bytes. */
function rawSafetensors(header: object, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
}

/** tiny-hf's tensors, edited by `edit`, as a single model.safetensors checkpoint. */
async function editedTinyHf(edit: (tensors: SafetensorsTensorIn[]) => SafetensorsTensorIn[]): Promise<string> {
  const src = await SafetensorsFile.open(path.join(fixtureDir('tiny-hf'), 'model.safetensors'));
  const tensors: SafetensorsTensorIn[] = [];
  for (const k of src.keys()) tensors.push({ name: k, dtype: 'F32', shape: src.entry(k).shape, data: await src.readFloat32(k) });
  await src.close();
  const dir = checkpointDir({ 'config.json': HF_CONFIG });
  await writeSafetensors(path.join(dir, 'model.safetensors'), edit(tensors));
  return dir;
}

describe('bad input fails cleanly', () => {
  test('no config.json', async () => {
    const dir = checkpointDir({ 'model.safetensors': { link: path.join(fixtureDir('tiny-hf'), 'model.safetensors') } });
    await expectCleanFailure(dir, /expected config.json in the checkpoint directory, found none/);
  });

  test('a missing checkpoint directory', async () => {
    await expectCleanFailure(path.join(tmp, 'nope'), /expected a checkpoint directory, got .*nope \(missing\)/);
  });

  test('unknown layout', async () => {
    const dir = checkpointDir({ 'config.json': '{"n_embd": 64, "n_layers": 2}' });
    await expectCleanFailure(dir, /config.json: unknown checkpoint layout: expected hidden_size \+ num_hidden_layers .* got keys \[n_embd, n_layers\]/);
  });

  test('no weight files', async () => {
    const dir = checkpointDir({ 'config.json': HF_CONFIG });
    await expectCleanFailure(dir, /expected model.safetensors, model.safetensors.index.json or pytorch_model.bin, found \[config.json\]/);
  });

  test('truncated .safetensors', async () => {
    const whole = fs.readFileSync(path.join(fixtureDir('tiny-hf'), 'model.safetensors'));
    const dir = checkpointDir({ 'config.json': HF_CONFIG, 'model.safetensors': whole.subarray(0, whole.length - 100) });
    await expectCleanFailure(dir, /model.safetensors: tensor ".*" data_offsets .* run past the end of the file .*truncated/);
  });

  test('header length past the end of the file', async () => {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64LE(1_000_000n);
    const dir = checkpointDir({ 'config.json': HF_CONFIG, 'model.safetensors': bytes });
    await expectCleanFailure(dir, /model.safetensors: header length 1000000 exceeds file size 16/);
  });

  test('overlapping offsets', async () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const dir = checkpointDir({ 'config.json': HF_CONFIG, 'model.safetensors': rawSafetensors(header, 12) });
    await expectCleanFailure(dir, /model.safetensors: tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/);
  });

  test('a pickle naming a global outside the allowlist', async () => {
    const pickle = Uint8Array.from([
      ...P.proto(), ...P.global('os', 'system'), ...P.mark(), ...P.str('echo pwned'), ...P.tuple(), ...P.reduce(), ...P.stop(),
    ]);
    const dir = checkpointDir({
      'config.json': { link: path.join(fixtureDir('tiny-orig'), 'config.json') },
      'pytorch_model.bin': torchZip(pickle),
    });
    await expectCleanFailure(dir, /pytorch_model.bin.*pickle global "os\.system" is not allowed/);
  });

  test('an index naming a missing shard', async () => {
    const dir = await shardedTinyHf();
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    await expectCleanFailure(dir, /model.safetensors.index.json: names shard model-00002-of-00002.safetensors, which is missing/);
  });

  test('a missing key', async () => {
    const dir = await editedTinyHf((t) => t.filter((x) => x.name !== 'backbone.layers.1.mixer.D'));
    await expectCleanFailure(dir, /missing key in checkpoint: backbone.layers.1.mixer.D$/);
  });

  test('an unexpected key', async () => {
    const dir = await editedTinyHf((t) => [...t, { name: 'backbone.layers.2.norm.weight', dtype: 'F32', shape: [64], data: new Float32Array(64) }]);
    await expectCleanFailure(dir, /unexpected key "backbone.layers.2.norm.weight" in .*model.safetensors: the model has no such weight/);
  });

  test('a shape mismatch', async () => {
    const dir = await editedTinyHf((t) => t.map((x) => (x.name === 'backbone.layers.0.mixer.x_proj.weight'
      ? { ...x, shape: [x.shape[1], x.shape[0]] } : x)));
    await expectCleanFailure(dir, /shape mismatch for "backbone.layers.0.mixer.x_proj.weight" in .*model.safetensors: expected \[36,128\], got \[128,36\]/);
  });

  test('a value that overflows float16', async () => {
    const dir = await editedTinyHf((t) => t.map((x) => (x.name === 'backbone.norm_f.weight'
      ? { ...x, data: new Float32Array(64).fill(1e6) } : x)));
    const out = freshOut();
    await expect(convert(dir, out, '--dtype', 'float16')).rejects.toThrow(/"backbone.norm_f.weight": value 1000000 at index 0 overflows float16/);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });

  test('an output directory that cannot be written (its parent is a regular file)', async () => {
    const parent = path.join(tmp, `file-${++counter}`);
    fs.writeFileSync(parent, 'not a directory');
    const out = path.join(parent, 'out');
    await expect(convert(fixtureDir('tiny-hf'), out)).rejects.toThrow(/cannot write output directory .*file-\d+\/out/);
    expect(fs.readFileSync(parent, 'utf8')).toBe('not a directory');
  });

  test('an output path that is a regular file', async () => {
    const out = freshOut();
    fs.writeFileSync(out, 'x');
    await expect(convert(fixtureDir('tiny-hf'), out)).rejects.toThrow(/cannot write output directory .*out: it \(or a parent\) exists and is not a directory/);
    expect(fs.readFileSync(out, 'utf8')).toBe('x');
  });
});
