/**
 * Pickle and zip bombs in torch checkpoints (issue #12, items 2-4): each built here at a size that proves the
 * bound quickly, each answered by one clear error in well under a second instead of a fatal out-of-memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TorchCheckpoint, pickleBounds } from '../../src/io/torch/checkpoint';
import { TORCH_PICKLE_GLOBALS, loadStoragePid } from '../../src/io/torch/pickleGlobals';
import { unpickle } from '../../src/io/torch/unpickle';
import { makeDeflatedZip, stateDictPickle, tensorItem } from '../helpers/torchZip';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-bombs-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes a torch zip whose data.pkl and/or storages are deflated; returns its path. */
function writeCheckpoint(name: string, pickle: Uint8Array, storages: Record<string, Uint8Array>, deflate: string[]): string {
  const files: Record<string, Uint8Array | string> = { 'archive/data.pkl': pickle, 'archive/byteorder': 'little' };
  for (const [k, v] of Object.entries(storages)) files[`archive/data/${k}`] = v;
  const file = path.join(tmp, `${name}.bin`);
  fs.writeFileSync(file, makeDeflatedZip(files, new Set(deflate)));
  return file;
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const pickleOf = (body: number[]): Uint8Array => Uint8Array.from([0x80, 2, ...body, 0x2e]);

/** Runs `f`, returning its error and the seconds it took. */
async function timed(f: () => Promise<unknown>): Promise<{ error: Error | null; seconds: number }> {
  const t0 = performance.now();
  const error = await f().then(() => null, (e: Error) => e);
  return { error, seconds: (performance.now() - t0) / 1000 };
}

describe('LONG4 decoding is linear (item 3)', () => {
  test('a 2 MiB LONG4 payload decodes in well under a second and equals the reference', () => {
    const len = 2 * 1024 * 1024;
    const header = [0x8b, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, len >>> 24];
    const data = new Uint8Array(2 + header.length + len + 1);
    data.set([0x80, 2, ...header]);
    const payload = data.subarray(2 + header.length, 2 + header.length + len);
    for (let i = 0; i < len; i++) payload[i] = (i * 131 + 7) & 0xff;
    payload[len - 1] = 0x35; // positive
    data[data.length - 1] = 0x2e;
    const t0 = performance.now();
    const v = unpickle(data, { globals: new Map() }) as bigint;
    const seconds = (performance.now() - t0) / 1000;
    expect(seconds).toBeLessThan(1);
    // Reference, computed independently: the value modulo a prime by Horner's rule from the top byte, and the top
    // 6 bytes by shifting.
    const p = 2305843009213693951n; // 2^61 - 1
    let mod = 0n;
    for (let i = len - 1; i >= 0; i--) mod = (mod * 256n + BigInt(payload[i])) % p;
    expect(typeof v).toBe('bigint');
    expect(v % p).toBe(mod);
    let top = 0;
    for (let i = len - 1; i >= len - 6; i--) top = top * 256 + payload[i];
    expect(Number(v >> BigInt(8 * (len - 6)))).toBe(top);
    // A negative one (top bit set): -1 for all 0xff.
    expect(unpickle(pickleOf([0x8b, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), { globals: new Map() })).toBe(-1);
  });
});

describe('pickle bombs (item 2)', () => {
  const storage = { '0': f32([1, 2, 3, 4]) };
  test('a data.pkl that inflates beyond what a state dict of its storages needs is refused before inflating', async () => {
    const bomb = new Uint8Array(64 * 1024 * 1024).fill(0x28); // 64 MiB of MARK, about 64 KB deflated
    const file = writeCheckpoint('mark-bomb', bomb, storage, ['archive/data.pkl']);
    expect(fs.statSync(file).size).toBeLessThan(200_000);
    const before = process.memoryUsage().rss;
    const { error, seconds } = await timed(() => TorchCheckpoint.open(file));
    expect(error?.message).toMatch(/archive\/data\.pkl inflates to 67108864 bytes, but a state dict of 1 storages needs at most 1064960 \(a pickle bomb or a corrupt file\?\)/);
    expect(seconds).toBeLessThan(1);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  test.each([
    ['MARK (stack)', [0x28], /pickle exceeds 100100 values on the stack, the most allowed for a state dict of 1 storages/],
    ['EMPTY_DICT (stack)', [0x7d], /pickle exceeds 100100 values on the stack/],
    ['NONE POP (opcodes)', [0x4e, 0x30], /pickle exceeds 100500 opcodes/],
  ])('a data.pkl within the size bound but full of %s hits the unpickler bound', async (_name, unit, pattern) => {
    const body: number[] = [];
    while (body.length < 1_000_000) body.push(...unit);
    const file = writeCheckpoint(`bomb-${unit.join('-')}`, pickleOf(body), storage, ['archive/data.pkl']);
    const { error, seconds } = await timed(() => TorchCheckpoint.open(file));
    expect(error?.message).toMatch(pattern);
    expect(error!.message).toMatch(/^TorchCheckpoint\.open\(".*"\): archive\/data\.pkl: /);
    expect(seconds).toBeLessThan(1);
  });

  test('memo and stack bounds hold on their own', () => {
    const memo: number[] = [];
    while (memo.length < 30_000) memo.push(0x4e, 0x94, 0x30); // NONE MEMOIZE POP
    expect(() => unpickle(pickleOf(memo), { globals: new Map(), limits: { maxMemo: 1000 } })).toThrow(/pickle: pickle exceeds 1000 memo entries, the most allowed \(a pickle bomb/);
    const dup = [0x4e, ...new Array(5000).fill(0x32)]; // NONE then DUP x 5000
    expect(() => unpickle(pickleOf(dup), { globals: new Map(), limits: { maxStack: 2000 } })).toThrow(/pickle exceeds 2000 values on the stack/);
  });

  test('the bounds scale with the storages and leave room for a real state dict', () => {
    expect(pickleBounds(1).limits.maxOps).toBe(100_500);
    expect(pickleBounds(1000).maxBytes).toBe((1 << 20) + 16 * 1024 * 1000);
    // A real state dict of 300 tensors is far inside them.
    const items = Array.from({ length: 300 }, (_, i) => tensorItem(`w${i}`, 'FloatStorage', `${i}`, 4, 0, [4], [1]));
    const pkl = stateDictPickle(items);
    const storages = Object.fromEntries(items.map((_, i) => [`${i}`, f32([i, i + 1, i + 2, i + 3])]));
    expect(pkl.length).toBeLessThan(pickleBounds(300).maxBytes / 10);
    const root = unpickle(pkl, { globals: TORCH_PICKLE_GLOBALS, persistentLoad: loadStoragePid, limits: { ...pickleBounds(300).limits, maxOps: 300 * 60 } });
    expect(root).toBeInstanceOf(Map);
    expect(storages['299']).toEqual(f32([299, 300, 301, 302]));
  });
});

describe('storage zip bombs (item 4)', () => {
  test('a deflated storage larger than its tensors need is refused at open', async () => {
    const pkl = stateDictPickle([tensorItem('w', 'FloatStorage', '0', 4, 0, [4], [1])]);
    const big = new Uint8Array(64 * 1024 * 1024); // 64 MiB of zeros, about 64 KB deflated; the tensor needs 16 bytes
    const file = writeCheckpoint('storage-bomb', pkl, { '0': big }, ['archive/data/0']);
    const before = process.memoryUsage().rss;
    const { error, seconds } = await timed(() => TorchCheckpoint.open(file));
    expect(error?.message).toMatch(/compressed storage archive\/data\/0 inflates to 67108864 bytes, but its tensors need only 16 \(a zip bomb or a corrupt file\?\)/);
    expect(seconds).toBeLessThan(1);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  test('a deflated storage shared by two tensors streams each one its own bytes', async () => {
    const values = Array.from({ length: 4096 }, (_, i) => Math.sin(i));
    const pkl = stateDictPickle([
      tensorItem('a', 'FloatStorage', '0', 4096, 0, [2048], [1]),
      tensorItem('b', 'FloatStorage', '0', 4096, 2048, [32, 64], [64, 1]),
      tensorItem('bt', 'FloatStorage', '0', 4096, 2048, [64, 32], [1, 64]),
    ]);
    const file = writeCheckpoint('shared', pkl, { '0': f32(values) }, ['archive/data/0']);
    const ckpt = await TorchCheckpoint.open(file);
    const ref = new Float32Array(values);
    expect(await ckpt.readFloat32('a')).toEqual(ref.subarray(0, 2048));
    expect(await ckpt.readFloat32('b')).toEqual(ref.subarray(2048));
    const bt = await ckpt.readFloat32('bt');
    expect(bt[1]).toBe(ref[2048 + 64]); // transposed view: (0, 1) is storage 2048 + 1 * 64
    expect(bt[32]).toBe(ref[2048 + 1]);
    await ckpt.close();
  });
});
