/**
 * Fuzzing the loaders with a fixed seed: a few hundred mutated copies of the fixture files per target must
 * each end in success or one of our Errors, within a second, without large allocations. Also: the runner's
 * own classification (a TypeError is a crash, a big allocation is 'memory', ...), and regression tests for the
 * bugs the fuzzer found.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { allTargets, FuzzTarget } from '../../fuzz/targets';
import { fuzzTarget, makeCase, runCase } from '../../fuzz/runner';
import { formatTable, anyFailure } from '../../fuzz/report';
import { isOurError } from '../../fuzz/outcome';
import { SafetensorsFile } from '../../src/io/safetensors';
import { TorchCheckpoint } from '../../src/io/torch/checkpoint';
import { TORCH_PICKLE_GLOBALS, torchPersistentLoad } from '../../src/io/torch/pickleGlobals';
import { unpickle } from '../../src/io/torch/unpickle';
import { parseCheckpointConfig } from '../../src/io/hf/config';
import { P, tensorItem, stateDictPickle, torchZip } from '../helpers/torchZip';
import { FIXTURES } from '../helpers/fixtures';

const SEED = 20240611;
const CASES: Record<string, number> = { safetensors: 300, torch: 300, unpickle: 600, config: 600, modeljson: 300 };

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('fuzzing with a fixed seed', () => {
  const targets = allTargets(FIXTURES);
  test.each(targets.map((t) => [t.name, t] as [string, FuzzTarget]))('%s: every case is ok or our error, fast and small', async (_name, target) => {
    const summary = await fuzzTarget(target, { cases: CASES[target.name], seed: SEED });
    const failures = summary.failures.map((f) => `${f.outcome} case ${f.index}: ${f.what.join('; ')} -> ${f.message}`);
    expect(failures).toEqual([]);
    expect(anyFailure([summary])).toBe(false);
    expect(summary.counts.ok + summary.counts.error).toBe(CASES[target.name]);
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(summary.counts.ok).toBeGreaterThan(0);
    expect(summary.counts.error).toBeGreaterThan(0);
    expect(formatTable([summary])).toContain(target.name);
  });

  test('cases are reproducible from (seed, target, index)', () => {
    const [st] = allTargets(FIXTURES);
    const a = makeCase(st, 7, 42);
    const b = makeCase(st, 7, 42);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.what).toEqual(b.what);
  });
});

describe('the runner classifies outcomes', () => {
  const fake = (run: FuzzTarget['run']): FuzzTarget => ({
    name: 'fake', label: 'fake.bin', seeds: [{ name: 'seed', bytes: new Uint8Array(1024) }], mutators: [[1, (b) => ({ bytes: b, what: 'none' })]], run,
  });
  const opts = { cases: 1, seed: 1, timeLimitMs: 200, hangMs: 500 };

  test.each([
    ['ok', async () => 1],
    ['error', async () => { throw new Error('fake.bin: bad input'); }],
    ['crash', async () => { throw new TypeError('fake.bin: cannot read properties of undefined'); }],
    ['crash', async () => { throw new Error('bad input (no file named)'); }],
    ['crash', async () => { throw Object.assign(new Error('EBADF fake.bin'), { code: 'EBADF' }); }],
    ['slow', () => new Promise((resolve) => setTimeout(resolve, 300))],
    ['slow', () => new Promise(() => undefined)],
    ['memory', async () => {
      const big = new Uint8Array(64 * 2 ** 20);
      await new Promise((resolve) => setImmediate(resolve));
      return big;
    }],
  ] as Array<[string, FuzzTarget['run']]>)('%s', async (outcome, run) => {
    const c = await runCase(fake(run), 0, opts, tmp, null);
    expect(c.outcome).toBe(outcome);
  });

  test('isOurError wants a plain Error naming the input', () => {
    expect(isOurError(new Error('x.bin: bad'), 'x.bin')).toBe(true);
    expect(isOurError(new RangeError('x.bin: bad'), 'x.bin')).toBe(false);
    expect(isOurError('x.bin: bad', 'x.bin')).toBe(false);
  });
});

/** Array-buffer growth while `f` runs (sampled before and after; `f` keeps what it allocates alive by returning it). */
async function growth<T>(f: () => Promise<T>): Promise<{ bytes: number; result: T | Error }> {
  const before = process.memoryUsage().arrayBuffers;
  let result: T | Error;
  try {
    result = await f();
  } catch (e) {
    result = e as Error;
  }
  return { bytes: process.memoryUsage().arrayBuffers - before, result };
}

describe('regressions found by the fuzzer', () => {
  test('safetensors: a deeply nested header value is our error, not a stack overflow', async () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    const json = Buffer.from(`{"w":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`);
    const file = path.join(tmp, 'deep.safetensors');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([prefix, json, Buffer.alloc(4)]));
    const e = await SafetensorsFile.open(file).catch((x) => x);
    expect(isOurError(e, file)).toBe(true);
    expect(e.message).toMatch(/shape must be an array of non-negative integers, got a deeply nested array/);
  });

  test('safetensors: a header claiming a 10 GiB tensor in a 1 MiB file is refused before allocating', async () => {
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [2684354560], data_offsets: [0, 10737418240] } }));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    const file = path.join(tmp, 'huge.safetensors');
    fs.writeFileSync(file, Buffer.concat([prefix, header, Buffer.alloc(2 ** 20)]));
    const { bytes, result } = await growth(() => SafetensorsFile.open(file));
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/run past the end of the file/);
    expect(bytes).toBeLessThan(8 * 2 ** 20);
  });

  test('torch: a zip64 locator pointing beyond 2^53 is our error (was an uncaught RangeError and a hang)', async () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'tiny-orig/pytorch_model.bin')));
    const at = Buffer.from(bytes).lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
    expect(at).toBeGreaterThan(0);
    Buffer.from(bytes.buffer, bytes.byteOffset).writeBigUInt64LE(1n << 63n, at + 8);
    const file = path.join(tmp, 'zip64.bin');
    fs.writeFileSync(file, bytes);
    const e = await TorchCheckpoint.open(file).catch((x) => x);
    expect(isOurError(e, file)).toBe(true);
    expect(e.message).toMatch(/not a readable zip archive.*outside the file/);
  });

  test('torch: a storage whose directory entry claims 4 GiB of a small file is refused before allocating', async () => {
    const n = 2 ** 30 - 1; // floats: (2^30 - 1) * 4 bytes < 2^32
    const pickle = stateDictPickle([tensorItem('w', 'FloatStorage', '0', n, 0, [n], [1])]);
    const zip = torchZip(pickle, { 0: new Uint8Array(16) });
    // Point the central directory's sizes of archive/data/0 at 4 GiB - 4 (stored: both sizes equal).
    const name = Buffer.from('archive/data/0');
    const central = zip.indexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x01, 0x02])]), zip.lastIndexOf(name) - 46);
    expect(zip.subarray(central + 46, central + 46 + name.length).equals(name)).toBe(true);
    zip.writeUInt32LE(n * 4, central + 20);
    zip.writeUInt32LE(n * 4, central + 24);
    const file = path.join(tmp, 'claim.bin');
    fs.writeFileSync(file, zip);
    const { bytes, result } = await growth(async () => {
      const ck = await TorchCheckpoint.open(file);
      try {
        return await ck.readFloat32('w');
      } finally {
        await ck.close();
      }
    });
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/claims 4294967292 stored bytes, but the file has only/);
    expect(bytes).toBeLessThan(8 * 2 ** 20);
  });

  test('torch: a stride-0 view that would expand a 4-byte storage to 2^40 floats is refused', async () => {
    const pickle = stateDictPickle([tensorItem('w', 'FloatStorage', '0', 1, 0, [2 ** 20, 2 ** 20], [0, 0])]);
    const file = path.join(tmp, 'stride0.bin');
    fs.writeFileSync(file, torchZip(pickle, { 0: new Uint8Array(4) }));
    await expect(TorchCheckpoint.open(file)).rejects.toThrow(/tensor "w" of shape \[1048576,1048576\].*would take 4398046511104 bytes/);
  });

  test('unpickle: a malformed persistent id is our error naming the source (was a bare Error from the loader)', () => {
    const bad = Uint8Array.from([...P.proto(), ...P.mark(), ...P.str('storage'), ...P.tuple(), 0x51, ...P.stop()]);
    expect(() => unpickle(bad, { globals: TORCH_PICKLE_GLOBALS, persistentLoad: torchPersistentLoad, source: 'x.pkl' }))
      .toThrow(/^x\.pkl: persistent id tuple of 1 could not be loaded: expected a persistent id/);
  });

  test('unpickle: a deeply nested persistent id is described without overflowing the stack (was JSON.stringify)', () => {
    const depth = 200000;
    const bytes = Uint8Array.from([
      ...P.proto(), ...new Array(depth).fill(0x5d), ...new Array(depth - 1).fill(0x61), // ]]]...aaa: one list, depth deep
      0x51, ...P.stop(), // BINPERSID
    ]);
    expect(() => unpickle(bytes, { globals: TORCH_PICKLE_GLOBALS, persistentLoad: torchPersistentLoad, source: 'deep.pkl' }))
      .toThrow(/^deep\.pkl: persistent id list of 1 could not be loaded: expected a persistent id .*, got list of 1/);
  });

  const configs: Array<[string, string, RegExp]> = [
    ['zero layers', '{"hidden_size": 64, "num_hidden_layers": 0, "vocab_size": 10}', /"num_hidden_layers" to be an integer in \[1, 16777216\], got 0/],
    ['fractional width', '{"hidden_size": 64.5, "num_hidden_layers": 2, "vocab_size": 10}', /"hidden_size" to be an integer/],
    ['huge vocabulary', '{"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1e300}', /"vocab_size" to be an integer/],
    ['string expand', '{"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 10, "expand": "2"}', /"expand" to be an integer.*got "2"/],
    ['negative epsilon', '{"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 10, "layer_norm_epsilon": -1}', /"layer_norm_epsilon" to be a positive number/],
    ['string bias flag', '{"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 10, "use_bias": "no"}', /"use_bias" to be true or false/],
    ['numeric ssm_cfg', '{"d_model": 8, "n_layer": 1, "vocab_size": 10, "ssm_cfg": 3}', /"ssm_cfg" to be an object, got 3/],
    ['negative d_state', '{"d_model": 8, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"d_state": -2}}', /config\.json \(ssm_cfg\): expected "d_state"/],
    ['deeply nested width', `{"hidden_size": ${'['.repeat(50000)}${']'.repeat(50000)}, "num_hidden_layers": 2, "vocab_size": 10}`, /"hidden_size".*got a deeply nested array/],
  ];
  test.each(configs)('config with %s is refused clearly', (_label, text, message) => {
    expect(() => parseCheckpointConfig(text, 'config.json')).toThrow(message);
  });
});
