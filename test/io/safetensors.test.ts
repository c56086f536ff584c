/**
 * Tests of the safetensors reader/writer and the half-float conversions, on the project's fixtures
 * and on crafted (valid and corrupted) files in a temporary directory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  SafetensorsFile, SafetensorsTensorIn, SafetensorsTensorSpec, parseSafetensorsHeader, writeSafetensors,
} from '../../src/io/safetensors';
import { bf16BitsToFloat32, float16BitsToFloat32, float32ToBF16Bits, float32ToFloat16Bits } from '../../src/io/safetensors/halfFloat';
import { expectAllClose } from '../helpers/close';
import { FIXTURES } from '../helpers/fixtures';

const TINY_HF = path.join(FIXTURES, 'tiny-hf/model.safetensors');
const TINY_BF16 = path.join(FIXTURES, 'tiny-hf-bf16/model.safetensors');
const TINY_REF = path.join(FIXTURES, 'tiny-hf/reference.safetensors');

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

/** Float32 value with the given bit pattern. */
function f32(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

/** Bit patterns of a Float32Array. */
function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Writes a raw safetensors-like file: u64 LE header length (declared, or the real one), header, data. */
function craft(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), declared?: number): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(declared ?? json.length));
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat([prefix, json, Buffer.from(data)]));
  return file;
}

/** Expects SafetensorsFile.open(file) to reject with a message naming the file and matching `re`. */
async function expectOpenError(file: string, re: RegExp): Promise<void> {
  const err = await SafetensorsFile.open(file).then(() => null, (e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect(err!.message.startsWith(file)).toBe(true);
  expect(err!.message).toMatch(re);
}

describe('halfFloat', () => {
  test('float16 encodes known values with round-to-nearest-even', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [65519.99, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00], [-Infinity, 0xfc00], [Infinity, 0x7c00],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -14 - 2 ** -25, 0x0400],
    ];
    const out = float32ToFloat16Bits(new Float32Array(cases.map((c) => c[0])));
    expect(Array.from(out)).toEqual(cases.map((c) => c[1]));
    const nan = float32ToFloat16Bits(new Float32Array([NaN]))[0];
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  test('every non-NaN float16 round-trips exactly through float32', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ToFloat16Bits(float16BitsToFloat32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN16) expect(Number.isNaN(float16BitsToFloat32(new Uint16Array([h]))[0])).toBe(true);
      else if (back[h] !== h) throw new Error(`float16 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
    expect(float16BitsToFloat32(new Uint16Array([0x3555]))[0]).toBe(f32(0x3eaaa000)); // 0.333251953125
  });

  test('bfloat16 encodes with round-to-nearest-even and round-trips', () => {
    const input = new Float32Array([1, f32(0x3f808000), f32(0x3f818000), f32(0x3f808001), -0, Infinity, f32(0x7f7fffff), NaN]);
    const bits = float32ToBF16Bits(input);
    expect(Array.from(bits.slice(0, 7))).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x8000, 0x7f80, 0x7f80]);
    expect(Number.isNaN(bf16BitsToFloat32(bits.subarray(7))[0])).toBe(true);
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ToBF16Bits(bf16BitsToFloat32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (!isNaN16 && back[h] !== h) throw new Error(`bf16 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  test('out arrays of the wrong length are refused', () => {
    expect(() => float32ToFloat16Bits(new Float32Array(3), new Uint16Array(2))).toThrow(/2 elements, expected 3/);
  });
});

describe('reading the fixtures', () => {
  test('tiny-hf model.safetensors: keys, shapes, dtypes, offsets, metadata', async () => {
    const f = await SafetensorsFile.open(TINY_HF);
    try {
      expect(f.metadata).toEqual({ format: 'pt' });
      expect(f.keys()).toHaveLength(22);
      expect(f.keys()).not.toContain('lm_head.weight');
      const emb = f.entries.get('backbone.embeddings.weight')!;
      expect(emb).toEqual({ name: 'backbone.embeddings.weight', dtype: 'F32', shape: [1000, 64], begin: f.dataStart, end: f.dataStart + 256000 });
      expect(f.dataStart).toBe(8 + 2208);
      expect(f.entries.get('backbone.layers.1.mixer.conv1d.weight')!.shape).toEqual([128, 1, 4]);
      expect(f.entries.get('backbone.layers.0.mixer.x_proj.weight')!.shape).toEqual([36, 128]);
      expect(f.entries.get('backbone.norm_f.weight')!.end).toBe(f.size);
      for (const e of f.entries.values()) expect(e.dtype).toBe('F32');

      // Values agree with a direct little-endian decode of the same bytes.
      const bytes = fs.readFileSync(TINY_HF);
      const alog = f.entries.get('backbone.layers.1.mixer.A_log')!;
      const got = await f.readFloat32('backbone.layers.1.mixer.A_log');
      expect(got).toHaveLength(128 * 16);
      for (const i of [0, 1, 17, 2047]) expect(got[i]).toBe(bytes.readFloatLE(alog.begin + 4 * i));
      expect(Buffer.from(await f.readRaw('backbone.norm_f.weight')).equals(bytes.subarray(f.size - 256))).toBe(true);
    } finally {
      await f.close();
    }
  });

  test('tiny-hf-bf16: BF16 tensors decode to the hand-decoded float32 values', async () => {
    const f = await SafetensorsFile.open(TINY_BF16);
    try {
      const bytes = fs.readFileSync(TINY_BF16);
      for (const name of ['backbone.embeddings.weight', 'backbone.layers.0.mixer.A_log', 'backbone.norm_f.weight']) {
        const e = f.entries.get(name)!;
        expect(e.dtype).toBe('BF16');
        const got = await f.readFloat32(name);
        const n = (e.end - e.begin) / 2;
        expect(got).toHaveLength(n);
        const word = Buffer.alloc(4);
        for (let i = 0; i < n; i++) {
          word.writeUInt32LE(bytes.readUInt16LE(e.begin + 2 * i) << 16 >>> 0);
          if (!Object.is(got[i], word.readFloatLE(0))) throw new Error(`${name}[${i}]: ${got[i]} != ${word.readFloatLE(0)}`);
        }
      }
      const alog = await f.readFloat32('backbone.layers.0.mixer.A_log');
      expect(alog.every((v) => Number.isFinite(v))).toBe(true);
      expect(f.entries.get('backbone.embeddings.weight')!.shape).toEqual([512, 32]);
    } finally {
      await f.close();
    }
  });

  test('reference.safetensors: int32 ids, float32 logits, and dtype mismatches are refused', async () => {
    const f = await SafetensorsFile.open(TINY_REF);
    try {
      const ids = await f.readInt32('input_ids');
      expect(f.entries.get('input_ids')!.shape).toEqual([2, 37]);
      expect(ids.every((v) => v >= 0 && v < 1000)).toBe(true);
      expect(Array.from(await f.readFloat32('input_ids'))).toEqual(Array.from(ids));
      expect(await f.readFloat32('logits')).toHaveLength(2 * 37 * 1000);
      await expect(f.readInt32('logits')).rejects.toThrow(/"logits" has dtype F32; readInt32 needs/);
      await expect(f.readFloat32('no.such.tensor')).rejects.toThrow(/no tensor named "no.such.tensor" \(the file has: generate.scores, /);
    } finally {
      await f.close();
    }
    await f.close(); // second close is harmless
    await expect(f.readRaw('loss')).rejects.toThrow(/is closed/);
  });
});

describe('writing', () => {
  const specials = new Float32Array([0, -0, 1, -1.5, Infinity, -Infinity, NaN, f32(0x00000001), f32(0x7f7fffff), 3.14159274, 1e-8, 65504]);

  test('F32 / F16 / BF16 / I32 round trip with exact bits, and the on-disk layout follows the spec', async () => {
    const f16bits = new Uint16Array([0x0000, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x3555, 0x7e00]);
    const bf16src = new Float32Array([1, f32(0x3f808000), f32(0x3f818000), -2.5e-20, 3e38]);
    const ints = new Int32Array([0, 1, -1, 2147483647, -2147483648, 123456]);
    const tensors: SafetensorsTensorIn[] = [
      { name: 'a.f32', dtype: 'F32', shape: [3, 4], data: specials },
      { name: 'b.f16bits', dtype: 'F16', shape: [9], data: f16bits },
      { name: 'c.f16', dtype: 'F16', shape: [12], data: specials },
      { name: 'd.bf16', dtype: 'BF16', shape: [5, 1], data: bf16src },
      { name: 'e.i32', dtype: 'I32', shape: [2, 3], data: ints },
      { name: 'f.scalar', dtype: 'F32', shape: [], data: new Float32Array([7]) },
      { name: 'g.empty', dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
    ];
    const file = path.join(tmp, 'roundtrip.safetensors');
    await writeSafetensors(file, tensors, { format: 'pt', note: 'ünïcode' });

    const raw = fs.readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const headerText = raw.subarray(8, 8 + n).toString('utf8');
    expect(headerText).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(headerText);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'ünïcode' });
    let cursor = 0;
    for (const t of tensors) {
      expect(header[t.name].data_offsets[0]).toBe(cursor);
      cursor = header[t.name].data_offsets[1];
    }
    expect(8 + n + cursor).toBe(raw.length);

    const f = await SafetensorsFile.open(file);
    try {
      expect(f.keys()).toEqual(tensors.map((t) => t.name));
      expect(f.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
      expect(Array.from(bitsOf(await f.readFloat32('a.f32')))).toEqual(Array.from(bitsOf(specials)));
      expect(Array.from(new Uint16Array((await f.readRaw('b.f16bits')).slice().buffer))).toEqual(Array.from(f16bits));
      expect(Array.from(bitsOf(await f.readFloat32('b.f16bits')))).toEqual(Array.from(bitsOf(float16BitsToFloat32(f16bits))));
      const c = new Uint16Array((await f.readRaw('c.f16')).slice().buffer);
      expect(Array.from(c)).toEqual(Array.from(float32ToFloat16Bits(specials)));
      expect(f.entries.get('d.bf16')!.shape).toEqual([5, 1]);
      const d = new Uint16Array((await f.readRaw('d.bf16')).slice().buffer);
      expect(Array.from(d)).toEqual([0x3f80, 0x3f80, 0x3f82, ...Array.from(float32ToBF16Bits(bf16src.subarray(3)))]);
      expect(Array.from(bitsOf(await f.readFloat32('d.bf16')))).toEqual(Array.from(bitsOf(bf16BitsToFloat32(d))));
      expectAllClose(await f.readFloat32('d.bf16'), bf16src, 3e38 * 2 ** -8, 'bf16 values');
      expect(Array.from(await f.readInt32('e.i32'))).toEqual(Array.from(ints));
      expect(Array.from(await f.readFloat32('f.scalar'))).toEqual([7]);
      expect(await f.readFloat32('g.empty')).toHaveLength(0);
    } finally {
      await f.close();
    }
    expect(fs.readdirSync(tmp).filter((x) => x.includes('roundtrip.safetensors.'))).toEqual([]);
  });

  test('specs plus a data getter stream one tensor at a time, in order', async () => {
    const specs: SafetensorsTensorSpec[] = [
      { name: 'x', dtype: 'BF16', shape: [2, 2] },
      { name: 'y', dtype: 'I32', shape: [3] },
    ];
    const calls: string[] = [];
    const file = path.join(tmp, 'getter.safetensors');
    await writeSafetensors(file, specs, async (spec, i) => {
      calls.push(`${i}:${spec.name}`);
      return spec.dtype === 'I32' ? new Int32Array([4, 5, 6]) : new Float32Array([1, 2, 3, 4]);
    });
    expect(calls).toEqual(['0:x', '1:y']);
    const f = await SafetensorsFile.open(file);
    expect(Array.from(await f.readFloat32('x'))).toEqual([1, 2, 3, 4]);
    expect(Array.from(await f.readInt32('y'))).toEqual([4, 5, 6]);
    expect(f.metadata).toEqual({});
    await f.close();
  });

  test('an async iterable of tensors is spooled and written', async () => {
    async function* gen(): AsyncGenerator<SafetensorsTensorIn> {
      for (let i = 0; i < 3; i++) yield { name: `t${i}`, dtype: 'F32', shape: [i + 1], data: new Float32Array(i + 1).fill(i) };
    }
    const file = path.join(tmp, 'iter.safetensors');
    await writeSafetensors(file, gen(), { k: 'v' });
    const f = await SafetensorsFile.open(file);
    expect(f.keys()).toEqual(['t0', 't1', 't2']);
    expect(Array.from(await f.readFloat32('t2'))).toEqual([2, 2, 2]);
    expect(f.metadata).toEqual({ k: 'v' });
    await f.close();
    expect(fs.readdirSync(tmp).filter((x) => x.startsWith('.iter.safetensors'))).toEqual([]);
  });

  test('a failed write leaves neither the target nor temporary files', async () => {
    const file = path.join(tmp, 'failed.safetensors');
    await expect(writeSafetensors(file, [
      { name: 'ok', dtype: 'F32', shape: [2], data: new Float32Array(2) },
      { name: 'bad', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) },
    ])).rejects.toThrow(/tensor "bad": shape \[2,2\] needs 4 values, got 3/);
    await expect(writeSafetensors(file, [{ name: 'w', dtype: 'I32', shape: [1], data: new Float32Array(1) }]))
      .rejects.toThrow(/dtype I32 needs an Int32Array, got Float32Array/);
    await expect(writeSafetensors(file, [
      { name: 'dup', dtype: 'F32', shape: [1], data: new Float32Array(1) },
      { name: 'dup', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ])).rejects.toThrow(/"dup": name appears twice/);
    expect(fs.readdirSync(tmp).filter((x) => x.includes('failed.safetensors'))).toEqual([]);
  });
});

describe('validation', () => {
  const f32x4 = new Uint8Array(16);

  test('file shorter than 8 bytes', async () => {
    const file = path.join(tmp, 'short.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    await expectOpenError(file, /file is 3 bytes, shorter than the 8-byte header length prefix/);
  });

  test('header length past the end of the file', async () => {
    const file = craft('past.safetensors', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32x4, 9999999);
    await expectOpenError(file, new RegExp(`header length 9999999 exceeds file size ${fs.statSync(file).size}`));
  });

  test('header length over 100 MB', async () => {
    const file = path.join(tmp, 'huge-header.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(150_000_000n);
    fs.writeFileSync(file, prefix);
    fs.truncateSync(file, 160_000_000); // sparse: costs no disk
    await expectOpenError(file, /header length 150000000 exceeds the 100000000-byte limit/);
    fs.rmSync(file);
  });

  test('header not UTF-8, not JSON, or not an object', async () => {
    await expectOpenError(craft('utf8.safetensors', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')), /header is not valid (UTF-8|JSON)/);
    const bad = path.join(tmp, 'utf8b.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(4n);
    fs.writeFileSync(bad, Buffer.concat([prefix, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]));
    await expectOpenError(bad, /header is not valid UTF-8/);
    await expectOpenError(craft('json.safetensors', '{"a": '), /header is not valid JSON/);
    await expectOpenError(craft('array.safetensors', '[1, 2]'), /header must be a JSON object, got \[1,2\]/);
  });

  test('entries missing fields, with unknown dtypes, bad shapes or bad offsets', async () => {
    const cases: [unknown, RegExp][] = [
      [{ a: { shape: [4], data_offsets: [0, 16] } }, /tensor "a": missing "dtype"/],
      [{ a: { dtype: 'F32', data_offsets: [0, 16] } }, /tensor "a": missing "shape"/],
      [{ a: { dtype: 'F32', shape: [4] } }, /tensor "a": missing "data_offsets"/],
      [{ a: 7 }, /tensor "a": expected an object/],
      [{ a: { dtype: 'F8_E4M3', shape: [16], data_offsets: [0, 16] } }, /tensor "a": unsupported dtype "F8_E4M3" \(expected one of F64, F32/],
      [{ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, /shape must be an array of non-negative integers, got \[-4\]/],
      [{ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 16] } }, /shape must be an array of non-negative integers/],
      [{ a: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }, /data_offsets must be two non-negative integers \[begin, end\] with begin <= end, got \[16,0\]/],
      [{ a: { dtype: 'F32', shape: [4], data_offsets: [0] } }, /data_offsets must be two/],
      [{ a: { dtype: 'F32', shape: [4], data_offsets: ['0', 16] } }, /data_offsets must be two/],
      [{ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, /data_offsets \[0, 12\] span 12 bytes, but shape \[2,2\] of F32 needs 16/],
      [{ __metadata__: { n: 1 }, a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, /__metadata__\["n"\] must be a string/],
    ];
    for (const [i, [header, re]] of cases.entries()) await expectOpenError(craft(`entry${i}.safetensors`, header, f32x4), re);
  });

  test('overlapping entries and gaps between entries', async () => {
    await expectOpenError(craft('overlap.safetensors', {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
    }, new Uint8Array(24)), /tensor "b" \[8, 24\] overlaps tensor "a" \[0, 16\]/);
    await expectOpenError(craft('gap.safetensors', {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [20, 36] },
    }, new Uint8Array(36)), /gap of 4 bytes between tensor "a" \(ends at 16\) and tensor "b"/);
    await expectOpenError(craft('lead.safetensors', { a: { dtype: 'F32', shape: [4], data_offsets: [4, 20] } }, new Uint8Array(20)),
      /gap of 4 bytes between the start of the data and tensor "a"/);
  });

  test('offsets past the end of the file (truncated file) fail on open; a trailing remainder is tolerated', async () => {
    const full = fs.readFileSync(TINY_HF);
    const cut = path.join(tmp, 'truncated.safetensors');
    fs.writeFileSync(cut, full.subarray(0, full.length - 100));
    await expectOpenError(cut, /tensor "backbone.norm_f.weight" data_offsets \[517632, 517888\] run past the end of the file/);

    const longer = path.join(tmp, 'trailing.safetensors');
    fs.writeFileSync(longer, Buffer.concat([full, Buffer.from([1, 2, 3, 4, 5])]));
    const f = await SafetensorsFile.open(longer);
    expect(f.keys()).toHaveLength(22);
    await f.close();
  });

  test('a file truncated after opening fails the read clearly', async () => {
    const file = path.join(tmp, 'shrinks.safetensors');
    fs.copyFileSync(TINY_HF, file);
    const f = await SafetensorsFile.open(file);
    fs.truncateSync(file, 300000);
    await expect(f.readFloat32('backbone.norm_f.weight')).rejects.toThrow(/unexpected end of file at byte \d+.*truncated/);
    await f.close();
  });

  test('offsets beyond 4 GiB are read correctly (sparse 5 GiB file, only the small tensor is read)', async () => {
    const big = 5 * 2 ** 30;
    const header = Buffer.from(JSON.stringify({
      pad: { dtype: 'U8', shape: [big], data_offsets: [0, big] },
      tail: { dtype: 'F32', shape: [3], data_offsets: [big, big + 12] },
    }));
    const file = path.join(tmp, 'sparse5g.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(file, Buffer.concat([prefix, header]));
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from(new Float32Array([1.25, -2, 3e5]).buffer), 0, 12, 8 + header.length + big);
    fs.closeSync(fd);
    try {
      const f = await SafetensorsFile.open(file);
      expect(f.entries.get('tail')!.begin).toBe(8 + header.length + big);
      expect(Array.from(await f.readFloat32('tail'))).toEqual([1.25, -2, 3e5]);
      await f.close();
    } finally {
      fs.rmSync(file);
    }
  });

  test('missing file', async () => {
    const file = path.join(tmp, 'nope.safetensors');
    await expectOpenError(file, /cannot open safetensors file \(ENOENT/);
  });

  test('parseSafetensorsHeader works on bytes and reports the given source name', () => {
    const header = Buffer.from(JSON.stringify({ a: { dtype: 'I8', shape: [3], data_offsets: [0, 3] } }));
    const { entries, dataStart, metadata } = parseSafetensorsHeader(header, 8 + header.length + 3);
    expect(dataStart).toBe(8 + header.length);
    expect(entries.get('a')).toEqual({ name: 'a', dtype: 'I8', shape: [3], begin: dataStart, end: dataStart + 3 });
    expect(metadata).toEqual({});
    expect(() => parseSafetensorsHeader(header, 8 + header.length + 2, 'x.safetensors')).toThrow(/^x.safetensors: tensor "a" .* run past the end/);
  });
});

describe('other dtypes', () => {
  test('F64, I64, I16, I8, U8 and BOOL convert to float32 / int32', async () => {
    const f64 = new Float64Array([1.5, -2.25, 1e300]);
    const i64 = new BigInt64Array([1n, -2n, 2147483647n, -2147483648n]);
    const big = new BigInt64Array([5n, 1n << 40n]);
    const i16 = new Int16Array([-32768, 32767]);
    const i8 = new Int8Array([-128, 127]);
    const u8 = new Uint8Array([0, 255]);
    const bool = new Uint8Array([1, 0, 1]);
    const parts: [string, string, number[], ArrayBufferView][] = [
      ['f64', 'F64', [3], f64], ['i64', 'I64', [4], i64], ['big', 'I64', [2], big], ['i16', 'I16', [2], i16],
      ['i8', 'I8', [2], i8], ['u8', 'U8', [2], u8], ['bool', 'BOOL', [3], bool],
    ];
    const header: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    let at = 0;
    for (const [name, dtype, shape, data] of parts) {
      header[name] = { dtype, shape, data_offsets: [at, at + data.byteLength] };
      chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      at += data.byteLength;
    }
    const file = craft('dtypes.safetensors', header, Buffer.concat(chunks));
    const f = await SafetensorsFile.open(file);
    try {
      expect(Array.from(await f.readFloat32('f64'))).toEqual([1.5, -2.25, Infinity]);
      expect(Array.from(await f.readInt32('i64'))).toEqual([1, -2, 2147483647, -2147483648]);
      expect(Array.from(await f.readFloat32('big'))).toEqual([5, 2 ** 40]);
      await expect(f.readInt32('big')).rejects.toThrow(/tensor "big": I64 element 1 = 1099511627776 does not fit in int32/);
      expect(Array.from(await f.readInt32('i16'))).toEqual([-32768, 32767]);
      expect(Array.from(await f.readFloat32('i8'))).toEqual([-128, 127]);
      expect(Array.from(await f.readInt32('u8'))).toEqual([0, 255]);
      expect(Array.from(await f.readInt32('bool'))).toEqual([1, 0, 1]);
      await expect(f.readInt32('f64')).rejects.toThrow(/has dtype F64/);
    } finally {
      await f.close();
    }
  });
});
