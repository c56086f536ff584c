/**
 * Tests of the torch zip checkpoint reader and the safe unpickler: the real tiny-orig fixture,
 * hand-built checkpoints (dtypes, strides, byte order) and malicious or broken inputs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TorchCheckpoint } from '../../src/io/torch/checkpoint';
import { TORCH_PICKLE_GLOBALS } from '../../src/io/torch/pickleGlobals';
import { unpickle } from '../../src/io/torch/unpickle';
import { P, crc32, makeZip, stateDictPickle, tensorItem, torchZip, u32 } from '../helpers/torchZip';
import { fixtureDir } from '../helpers/fixtures';

const FIXTURE_DIR = fixtureDir('tiny-orig');
const FIXTURE = path.join(FIXTURE_DIR, 'pytorch_model.bin');

// ---------------------------------------------------------------------------------------------
// Builders for crafted inputs

/** One entry of {@link writeSparseZip64}: `size` zero bytes except the given pieces. */
interface SparseEntry {
  name: string;
  size: number;
  pieces: { at: number; bytes: Uint8Array }[];
}

/**
 * Writes a zip64 archive with STORED entries as a sparse file (the zero runs are holes), so
 * archives beyond 4 GiB cost no disk space. Every size and offset goes through zip64 fields.
 */
function writeSparseZip64(file: string, entries: SparseEntry[]): void {
  const fd = fs.openSync(file, 'w');
  const at = (buf: Uint8Array, position: number): void => {
    fs.writeSync(fd, buf, 0, buf.length, position);
  };
  try {
    let offset = 0;
    const centrals: Buffer[] = [];
    for (const e of entries) {
      const name = Buffer.from(e.name, 'utf8');
      let crc = 0;
      if (e.size <= 1 << 20) {
        const content = Buffer.alloc(e.size);
        for (const p of e.pieces) content.set(p.bytes, p.at);
        crc = crc32(content);
      }
      const local = Buffer.alloc(30 + name.length + 20);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(45, 4);
      local.writeUInt16LE(0x21, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(0xffffffff, 18);
      local.writeUInt32LE(0xffffffff, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(20, 28);
      name.copy(local, 30);
      local.writeUInt16LE(1, 30 + name.length);
      local.writeUInt16LE(16, 32 + name.length);
      local.writeBigUInt64LE(BigInt(e.size), 34 + name.length);
      local.writeBigUInt64LE(BigInt(e.size), 42 + name.length);
      at(local, offset);
      for (const p of e.pieces) at(p.bytes, offset + local.length + p.at);
      const central = Buffer.alloc(46 + name.length + 28);
      central.writeUInt32LE(0x02014b50, 0);
      central.writeUInt16LE(45, 4);
      central.writeUInt16LE(45, 6);
      central.writeUInt16LE(0x21, 14);
      central.writeUInt32LE(crc, 16);
      central.writeUInt32LE(0xffffffff, 20);
      central.writeUInt32LE(0xffffffff, 24);
      central.writeUInt16LE(name.length, 28);
      central.writeUInt16LE(28, 30);
      central.writeUInt32LE(0xffffffff, 42);
      name.copy(central, 46);
      central.writeUInt16LE(1, 46 + name.length);
      central.writeUInt16LE(24, 48 + name.length);
      central.writeBigUInt64LE(BigInt(e.size), 50 + name.length);
      central.writeBigUInt64LE(BigInt(e.size), 58 + name.length);
      central.writeBigUInt64LE(BigInt(offset), 66 + name.length);
      centrals.push(central);
      offset += local.length + e.size;
    }
    const cd = Buffer.concat(centrals);
    const end = Buffer.alloc(56 + 20 + 22);
    end.writeUInt32LE(0x06064b50, 0); // zip64 end of central directory record
    end.writeBigUInt64LE(44n, 4);
    end.writeUInt16LE(45, 12);
    end.writeUInt16LE(45, 14);
    end.writeBigUInt64LE(BigInt(entries.length), 24);
    end.writeBigUInt64LE(BigInt(entries.length), 32);
    end.writeBigUInt64LE(BigInt(cd.length), 40);
    end.writeBigUInt64LE(BigInt(offset), 48);
    end.writeUInt32LE(0x07064b50, 56); // zip64 locator
    end.writeBigUInt64LE(BigInt(offset + cd.length), 64);
    end.writeUInt32LE(1, 72);
    end.writeUInt32LE(0x06054b50, 76); // classic end record, all fields deferred to zip64
    end.writeUInt16LE(0xffff, 84);
    end.writeUInt16LE(0xffff, 86);
    end.writeUInt32LE(0xffffffff, 88);
    end.writeUInt32LE(0xffffffff, 92);
    at(Buffer.concat([cd, end]), offset);
  } finally {
    fs.closeSync(fd);
  }
}

function floatBytes(values: number[], littleEndian = true): Uint8Array {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => (littleEndian ? b.writeFloatLE(v, 4 * i) : b.writeFloatBE(v, 4 * i)));
  return b;
}

let tmpDir: string;
let counter = 0;

/** Writes a crafted file into the test's temp folder and returns its path. */
function writeTmp(content: Uint8Array | string, ext = '.bin'): string {
  const file = path.join(tmpDir, `case${counter++}${ext}`);
  fs.writeFileSync(file, content);
  return file;
}

/** A torch-like checkpoint zip from a pickle and storages. */
function checkpointZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, byteorder = 'little'): string {
  return writeTmp(torchZip(pickle, storages, byteorder));
}

/** Opens, runs `fn`, and always closes. */
async function withCheckpoint<T>(file: string, fn: (ckpt: TorchCheckpoint) => Promise<T>): Promise<T> {
  const ckpt = await TorchCheckpoint.open(file);
  try {
    return await fn(ckpt);
  } finally {
    await ckpt.close();
  }
}

beforeAll(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchbin-test-'));
});

afterAll(() => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The real fixture

describe('TorchCheckpoint on tiny-orig/pytorch_model.bin', () => {
  const config = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'config.json'), 'utf8')) as {
    d_model: number;
    n_layer: number;
    vocab_size: number;
    pad_vocab_size_multiple: number;
  };
  const D = config.d_model;
  const E = 2 * D;
  const N = 16;
  const R = Math.ceil(D / 16);
  const V = Math.ceil(config.vocab_size / config.pad_vocab_size_multiple) * config.pad_vocab_size_multiple;

  let ckpt: TorchCheckpoint;
  beforeAll(async () => {
    ckpt = await TorchCheckpoint.open(FIXTURE);
  });
  afterAll(async () => {
    await ckpt.close();
  });

  test('lists every Mamba parameter with shapes implied by config.json', () => {
    expect(V).toBe(504);
    const expected: Record<string, number[]> = {
      'backbone.embedding.weight': [V, D],
      'backbone.norm_f.weight': [D],
      'lm_head.weight': [V, D],
    };
    for (let i = 0; i < config.n_layer; i++) {
      const p = `backbone.layers.${i}`;
      Object.assign(expected, {
        [`${p}.norm.weight`]: [D],
        [`${p}.mixer.A_log`]: [E, N],
        [`${p}.mixer.D`]: [E],
        [`${p}.mixer.conv1d.weight`]: [E, 1, 4],
        [`${p}.mixer.conv1d.bias`]: [E],
        [`${p}.mixer.in_proj.weight`]: [2 * E, D],
        [`${p}.mixer.x_proj.weight`]: [R + 2 * N, E],
        [`${p}.mixer.dt_proj.weight`]: [E, R],
        [`${p}.mixer.dt_proj.bias`]: [E],
        [`${p}.mixer.out_proj.weight`]: [D, E],
      });
    }
    expect(new Set(ckpt.keys())).toEqual(new Set(Object.keys(expected)));
    expect(ckpt.keys()[0]).toBe('backbone.embedding.weight');
    for (const [name, shape] of Object.entries(expected)) {
      expect(ckpt.entry(name)).toEqual({ name, dtype: 'F32', shape });
    }
  });

  test('shapes equal those of the reference gradients (reference.safetensors header)', () => {
    const bytes = fs.readFileSync(path.join(FIXTURE_DIR, 'reference.safetensors'));
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { shape?: number[] }>;
    const grads = new Map<string, number[]>();
    for (const [k, v] of Object.entries(header)) {
      // The reference was computed with the HF model, which calls the embedding "embeddings".
      if (k.startsWith('grad.')) grads.set(k.slice(5).replace('backbone.embeddings.', 'backbone.embedding.'), v.shape!);
    }
    const params = ckpt.keys().filter((k) => k !== 'lm_head.weight');
    expect(new Set(grads.keys())).toEqual(new Set(params));
    for (const name of params) expect(ckpt.entry(name).shape).toEqual(grads.get(name));
  });

  test('every tensor reads as finite float32 of the right length', async () => {
    for (const name of ckpt.keys()) {
      const values = await ckpt.readFloat32(name);
      const numel = ckpt.entry(name).shape.reduce((a, b) => a * b, 1);
      expect(values).toBeInstanceOf(Float32Array);
      expect(values.length).toBe(numel);
      expect(values.every(Number.isFinite)).toBe(true);
    }
  });

  test('lm_head.weight is tied to backbone.embedding.weight', async () => {
    const head = await ckpt.readFloat32('lm_head.weight');
    const emb = await ckpt.readFloat32('backbone.embedding.weight');
    expect(head).toEqual(emb);
  });

  test('values match the known initialisation plus 0.05-sigma noise', async () => {
    // HF init: A_log[c, n] = log(n + 1), D = 1, norm weights = 1; make_fixtures adds 0.05 * randn.
    const aLog = await ckpt.readFloat32('backbone.layers.1.mixer.A_log');
    for (let c = 0; c < E; c++) {
      for (let n = 0; n < N; n++) expect(Math.abs(aLog[c * N + n] - Math.log(n + 1))).toBeLessThan(0.3);
    }
    for (const name of ['backbone.layers.2.mixer.D', 'backbone.norm_f.weight', 'backbone.layers.0.norm.weight']) {
      for (const v of await ckpt.readFloat32(name)) expect(Math.abs(v - 1)).toBeLessThan(0.3);
    }
  });

  test('embedding bytes equal the raw storage found independently in the file', async () => {
    const file = fs.readFileSync(FIXTURE);
    const at = file.indexOf(Buffer.from('pytorch_model/data/0'));
    const header = at - 30;
    expect(file.readUInt32LE(header)).toBe(0x04034b50);
    const dataStart = at + file.readUInt16LE(header + 26) + file.readUInt16LE(header + 28);
    const raw = new Float32Array(file.buffer.slice(file.byteOffset + dataStart, file.byteOffset + dataStart + 4 * V * D));
    expect(await ckpt.readFloat32('backbone.embedding.weight')).toEqual(raw);
  });

  test('unknown tensor name is an error naming it', () => {
    expect(() => ckpt.entry('backbone.nope')).toThrow(/no tensor named "backbone\.nope"/);
  });
});

// ---------------------------------------------------------------------------------------------
// Crafted checkpoints

describe('TorchCheckpoint on crafted checkpoints', () => {
  test('converts F16, BF16, F64, I64, I32 storages to float32', async () => {
    const f16 = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0x00, 0x7c]); // 1, -2, 0.5, Inf
    const bf16 = Uint8Array.from([0x80, 0x3f, 0x00, 0xc0]); // 1, -2
    const f64 = Buffer.alloc(16);
    f64.writeDoubleLE(0.25, 0);
    f64.writeDoubleLE(-3.5, 8);
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(5n, 0);
    i64.writeBigInt64LE(-7n, 8);
    const i32 = Buffer.alloc(8);
    i32.writeInt32LE(123, 0);
    i32.writeInt32LE(-4, 4);
    const pickle = stateDictPickle([
      tensorItem('h', 'HalfStorage', '0', 4, 0, [4], [1]),
      tensorItem('b', 'BFloat16Storage', '1', 2, 0, [2], [1]),
      tensorItem('d', 'DoubleStorage', '2', 2, 0, [2], [1]),
      tensorItem('l', 'LongStorage', '3', 2, 0, [2], [1]),
      tensorItem('i', 'IntStorage', '4', 2, 0, [1, 2], [2, 1]),
    ]);
    const file = checkpointZip(pickle, { 0: f16, 1: bf16, 2: f64, 3: i64, 4: i32 });
    await withCheckpoint(file, async (ckpt) => {
      expect(ckpt.keys()).toEqual(['h', 'b', 'd', 'l', 'i']);
      expect(ckpt.entry('h')).toEqual({ name: 'h', dtype: 'F16', shape: [4] });
      expect(ckpt.entry('b').dtype).toBe('BF16');
      expect(ckpt.entry('d').dtype).toBe('F64');
      expect(ckpt.entry('l').dtype).toBe('I64');
      expect(ckpt.entry('i')).toEqual({ name: 'i', dtype: 'I32', shape: [1, 2] });
      expect([...(await ckpt.readFloat32('h'))]).toEqual([1, -2, 0.5, Infinity]);
      expect([...(await ckpt.readFloat32('b'))]).toEqual([1, -2]);
      expect([...(await ckpt.readFloat32('d'))]).toEqual([0.25, -3.5]);
      expect([...(await ckpt.readFloat32('l'))]).toEqual([5, -7]);
      expect([...(await ckpt.readFloat32('i'))]).toEqual([123, -4]);
    });
  });

  test('gathers non-contiguous strides, honours storage offsets and shared storages', async () => {
    const pickle = stateDictPickle([
      tensorItem('transposed', 'FloatStorage', '0', 8, 0, [3, 2], [1, 3]), // element (i, j) = s[i + 3j]
      tensorItem('offset', 'FloatStorage', '0', 8, 2, [2, 3], [3, 1]), // s[2..7]
      tensorItem('expanded', 'FloatStorage', '0', 8, 7, [2, 2], [0, 0]), // s[7] four times
      tensorItem('empty', 'FloatStorage', '0', 8, 0, [0, 5], [5, 1]),
      tensorItem('scalar', 'FloatStorage', '0', 8, 4, [], []),
    ]);
    const file = checkpointZip(pickle, { 0: floatBytes([0, 1, 2, 3, 4, 5, 6, 7]) });
    await withCheckpoint(file, async (ckpt) => {
      expect([...(await ckpt.readFloat32('transposed'))]).toEqual([0, 3, 1, 4, 2, 5]);
      expect([...(await ckpt.readFloat32('offset'))]).toEqual([2, 3, 4, 5, 6, 7]);
      expect([...(await ckpt.readFloat32('expanded'))]).toEqual([7, 7, 7, 7]);
      expect((await ckpt.readFloat32('empty')).length).toBe(0);
      expect(ckpt.entry('scalar').shape).toEqual([]);
      expect([...(await ckpt.readFloat32('scalar'))]).toEqual([4]);
    });
  });

  test('reads big-endian checkpoints (byteorder "big")', async () => {
    const pickle = stateDictPickle([tensorItem('w', 'FloatStorage', '0', 3, 0, [3], [1])]);
    const file = checkpointZip(pickle, { 0: floatBytes([1.5, -2.25, 3], false) }, 'big');
    await withCheckpoint(file, async (ckpt) => {
      expect([...(await ckpt.readFloat32('w'))]).toEqual([1.5, -2.25, 3]);
    });
  });

  test('accepts an OrderedDict state dict carrying _metadata (what model.state_dict() pickles)', async () => {
    const pickle = Uint8Array.from([
      ...P.proto(), ...P.global('collections', 'OrderedDict'), ...P.emptyTuple(), ...P.reduce(),
      ...P.mark(), ...tensorItem('w', 'FloatStorage', '0', 2, 0, [2], [1]), ...P.setitems(),
      // BUILD state: {'_metadata': OrderedDict({'': {'version': 1}})}
      ...P.emptyDict(), ...P.str('_metadata'), ...P.global('collections', 'OrderedDict'), ...P.emptyTuple(), ...P.reduce(),
      ...P.str(''), ...P.emptyDict(), ...P.str('version'), ...P.int(1), 0x73, 0x73, 0x73, 0x62, ...P.stop(),
    ]);
    await withCheckpoint(checkpointZip(pickle, { 0: floatBytes([3, 4]) }), async (ckpt) => {
      expect(ckpt.keys()).toEqual(['w']);
      expect([...(await ckpt.readFloat32('w'))]).toEqual([3, 4]);
    });
  });

  test('reads a zip64 checkpoint beyond 4 GiB without loading it (sparse file)', async () => {
    const big = 4.5 * 2 ** 30; // bytes of storage "0"
    const numel = big / 4;
    const pickle = stateDictPickle([
      tensorItem('head', 'FloatStorage', '0', numel, 0, [4], [1]),
      tensorItem('tail', 'FloatStorage', '0', numel, numel - 4, [2, 2], [1, 2]),
      tensorItem('after', 'FloatStorage', '1', 2, 0, [2], [1]),
    ]);
    const file = path.join(tmpDir, 'zip64.bin');
    writeSparseZip64(file, [
      { name: 'big/data.pkl', size: pickle.length, pieces: [{ at: 0, bytes: pickle }] },
      { name: 'big/byteorder', size: 6, pieces: [{ at: 0, bytes: Buffer.from('little') }] },
      {
        name: 'big/data/0',
        size: big,
        pieces: [{ at: 0, bytes: floatBytes([1, 2, 3, 4]) }, { at: big - 16, bytes: floatBytes([5, 6, 7, 8]) }],
      },
      { name: 'big/data/1', size: 8, pieces: [{ at: 0, bytes: floatBytes([9, 10]) }] },
    ]);
    expect(fs.statSync(file).size).toBeGreaterThan(big);
    await withCheckpoint(file, async (ckpt) => {
      expect(ckpt.keys()).toEqual(['head', 'tail', 'after']);
      expect([...(await ckpt.readFloat32('head'))]).toEqual([1, 2, 3, 4]);
      expect([...(await ckpt.readFloat32('tail'))]).toEqual([5, 7, 6, 8]);
      expect([...(await ckpt.readFloat32('after'))]).toEqual([9, 10]);
    });
    fs.rmSync(file);
  });

  test('a storage entry too small for its tensor is an error naming the key', async () => {
    const pickle = stateDictPickle([tensorItem('w', 'FloatStorage', '7', 6, 0, [2, 3], [3, 1])]);
    const file = checkpointZip(pickle, { 7: floatBytes([1, 2, 3, 4, 5]) });
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/storage "7".*tensor "w" has 20 bytes but the tensor needs 24/);
  });

  test('a missing storage entry is an error naming the key', async () => {
    const pickle = stateDictPickle([tensorItem('w', 'FloatStorage', '3', 2, 0, [2], [1])]);
    const file = checkpointZip(pickle, { 0: floatBytes([1, 2]) });
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/tensor "w" needs storage "3" but entry archive\/data\/3 is missing/);
  });

  test('a zip without <archive>/data.pkl is an error', async () => {
    const file = writeTmp(makeZip({ 'archive/data/0': floatBytes([1]), 'archive/version': '3\n' }));
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/expected exactly one "<archive>\/data\.pkl" entry, found 0/);
  });

  test('a non-zip file is an error naming the file', async () => {
    const file = writeTmp('this is not a zip file, just some text long enough to not be empty'.repeat(4));
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(
      new RegExp(`TorchCheckpoint\\.open\\("${escapeRegExp(file)}"\\): not a readable zip archive`),
    );
  });

  test('a legacy (pre-zip) torch file is recognised as such', async () => {
    const file = writeTmp(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, ...new Array(40).fill(0)]));
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/legacy torch format/);
  });

  test('a missing file is an error naming it', async () => {
    const file = path.join(tmpDir, 'does-not-exist.bin');
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/does-not-exist\.bin"\): cannot open the file/);
  });

  test('a malicious data.pkl naming os.system is refused at open', async () => {
    const pickle = Uint8Array.from([
      ...P.proto(), ...P.global('os', 'system'), ...P.mark(), ...P.str('echo pwned'), ...P.tuple(), ...P.reduce(), ...P.stop(),
    ]);
    const file = checkpointZip(pickle, {});
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/pickle global "os\.system" is not allowed/);
  });

  test('reads fail after close', async () => {
    const pickle = stateDictPickle([tensorItem('w', 'FloatStorage', '0', 1, 0, [1], [1])]);
    const ckpt = await TorchCheckpoint.open(checkpointZip(pickle, { 0: floatBytes([1]) }));
    await ckpt.close();
    await ckpt.close();
    await expect(ckpt.readFloat32('w')).rejects.toThrow(/closed/);
  });
});

// ---------------------------------------------------------------------------------------------
// The unpickler on its own

describe('unpickle', () => {
  const options = { globals: TORCH_PICKLE_GLOBALS, source: 'test.pkl' };

  test('refuses os.system via GLOBAL, listing what is allowed', () => {
    const pickle = Uint8Array.from([...P.proto(), ...P.global('os', 'system'), ...P.stop()]);
    expect(() => unpickle(pickle, options)).toThrow(
      /test\.pkl: pickle global "os\.system" is not allowed \(allowed: collections\.OrderedDict, torch\._utils\._rebuild_tensor_v2/,
    );
  });

  test('refuses builtins.eval via STACK_GLOBAL', () => {
    const pickle = Uint8Array.from([
      ...P.proto(), 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 4, ...Buffer.from('eval'), 0x93,
      ...P.mark(), ...P.str('1+1'), ...P.tuple(), ...P.reduce(), ...P.stop(),
    ]);
    expect(() => unpickle(pickle, options)).toThrow(/pickle global "builtins\.eval" is not allowed/);
  });

  test('refuses to call an allowed non-callable global', () => {
    const pickle = Uint8Array.from([...P.proto(), ...P.global('torch', 'FloatStorage'), ...P.emptyTuple(), ...P.reduce(), ...P.stop()]);
    expect(() => unpickle(pickle, options)).toThrow(/torch\.FloatStorage is allowed as a value but cannot be called/);
  });

  test('a truncated pickle is a clear error', () => {
    const full = Uint8Array.from([
      ...P.proto(), ...P.emptyDict(), ...P.mark(), ...P.str('key'), ...P.mark(), ...P.str('some text'), ...P.int(70000),
      ...P.global('collections', 'OrderedDict'), ...P.emptyTuple(), ...P.reduce(), ...P.tuple(), ...P.setitems(), ...P.stop(),
    ]);
    expect(unpickle(full, options)).toEqual(new Map([['key', ['some text', 70000, new Map()]]]));
    for (let cut = 0; cut < full.length; cut++) {
      expect(() => unpickle(full.subarray(0, cut), options)).toThrow(/truncated/);
    }
    const badLength = Uint8Array.from([...P.proto(), 0x58, ...u32(1000), 0x41, 0x42]);
    expect(() => unpickle(badLength, options)).toThrow(/needed 1000 byte\(s\) at offset 7 but only 2 remain/);
  });

  test('an unknown opcode names the byte and offset', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), options)).toThrow(/opcode 0xff at offset 2/);
    // INST (protocol 0, would call a class) is deliberately unsupported.
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x69]), options)).toThrow(/opcode 0x69 \('i'\) at offset 2/);
  });

  test('parses plain Python values', () => {
    const pickle = Uint8Array.from([
      ...P.proto(), 0x5d, ...P.mark(),
      0x4b, 7, 0x4d, 0x34, 0x12, ...P.int(-5), 0x8a, 2, 0xff, 0x7f, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0x80, 0,
      0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x88, 0x89, 0x4e, ...P.str('é\n'), 0x43, 2, 1, 2,
      0x65, 0x71, 0, 0x68, 0, 0x85, 0x86, ...P.stop(),
    ]);
    // [list, (list,)] where the list is [7, 0x1234, -5, 32767, 2^63, 1.5, True, False, None, 'é\n', b'\x01\x02']
    const result = unpickle(pickle, options) as unknown[];
    const list = [7, 0x1234, -5, 32767, 2n ** 63n, 1.5, true, false, null, 'é\n', Uint8Array.from([1, 2])];
    expect(result).toEqual([list, [list]]);
    expect(Object.isFrozen(result)).toBe(true);
  });

  test('structural errors name what was expected', () => {
    const notDict = Uint8Array.from([...P.proto(), 0x5d, ...P.str('k'), ...P.str('v'), 0x73, ...P.stop()]);
    expect(() => unpickle(notDict, options)).toThrow(/expected a dict to set items on, got list of 0/);
    const badMemo = Uint8Array.from([...P.proto(), 0x68, 3, ...P.stop()]);
    expect(() => unpickle(badMemo, options)).toThrow(/memo index 3 was never stored/);
    const noPid = Uint8Array.from([...P.proto(), ...P.str('x'), 0x51, ...P.stop()]);
    expect(() => unpickle(noPid, options)).toThrow(/no persistentLoad resolver/);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
