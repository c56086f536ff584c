#!/usr/bin/env node
/**
 * Peak RSS of reading a torch zip bomb (issue #12, items 2 and 4):
 *   storage bomb (default): one deflated storage entry inflating to 256 MiB of zeros (about 256 KB on disk)
 *     while its 8 tensors need 64 bytes each;
 *   --pickle: data.pkl of 256 MiB of MARK opcodes, deflated (about 256 KB).
 *
 *   node scripts/torch-bomb-rss.js [--pickle] [srcRoot]     (srcRoot default: ./src; e.g. an older checkout's src)
 *
 * Bundles <srcRoot>/io/torch/checkpoint.ts with esbuild, opens the bomb in a child process, reads every tensor
 * and prints the outcome, seconds and peak RSS.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const args = process.argv.slice(2);
const pickleBomb = args.includes('--pickle');
const srcRoot = path.resolve(args.filter((a) => !a.startsWith('--'))[0] ?? 'src');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bomb-rss-'));

function pickle() {
  const str = (s) => [0x58, ...u32(Buffer.byteLength(s)), ...Buffer.from(s)];
  const int = (n) => [0x4a, ...u32(n)];
  const glob = (m, n) => [0x63, ...Buffer.from(`${m}\n${n}\n`)];
  const out = [0x80, 2, 0x7d, 0x28];
  for (let t = 0; t < 8; t++) {
    out.push(...str(`w${t}`), ...glob('torch._utils', '_rebuild_tensor_v2'), 0x28,
      0x28, ...str('storage'), ...glob('torch', 'FloatStorage'), ...str('0'), ...str('cpu'), ...int(16 * 8), 0x74, 0x51,
      ...int(16 * t), 0x28, ...int(16), 0x74, 0x28, ...int(1), 0x74, 0x89,
      ...glob('collections', 'OrderedDict'), 0x29, 0x52, 0x74, 0x52);
  }
  out.push(0x75, 0x2e);
  return Buffer.from(out);
}
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return [...b];
}
function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, raw, deflate] of files) {
    const data = deflate ? zlib.deflateRawSync(raw, { level: 9 }) : raw;
    const n = Buffer.from(name);
    const crc = zlib.crc32(raw) >>> 0;
    const l = Buffer.alloc(30);
    l.writeUInt32LE(0x04034b50, 0); l.writeUInt16LE(20, 4); l.writeUInt16LE(deflate ? 8 : 0, 8); l.writeUInt16LE(0x21, 12);
    l.writeUInt32LE(crc, 14); l.writeUInt32LE(data.length, 18); l.writeUInt32LE(raw.length, 22); l.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); c.writeUInt16LE(20, 6); c.writeUInt16LE(deflate ? 8 : 0, 10);
    c.writeUInt16LE(0x21, 14); c.writeUInt32LE(crc, 16); c.writeUInt32LE(data.length, 20); c.writeUInt32LE(raw.length, 24);
    c.writeUInt16LE(n.length, 28); c.writeUInt32LE(offset, 42);
    locals.push(l, n, data);
    centrals.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(files.length, 8); e.writeUInt16LE(files.length, 10);
  e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, e]);
}

const bomb = path.join(tmp, 'bomb.bin');
const makeAt = args.indexOf('--make');
if (makeAt >= 0) {
  writeBomb(args[makeAt + 1]);
  process.exit(0);
}
// Built in a child process: this one stays small, and the reader's child does not inherit its peak RSS.
execFileSync(process.execPath, [__filename, ...(pickleBomb ? ['--pickle'] : []), '--make', bomb]);

function writeBomb(file) {
  fs.writeFileSync(file, zip(pickleBomb ? [
  ['archive/data.pkl', Buffer.alloc(256 * 1024 * 1024, 0x28), true],
  ['archive/byteorder', Buffer.from('little'), false],
  ['archive/data/0', Buffer.alloc(512), false],
] : [
  ['archive/data.pkl', pickle(), false],
  ['archive/byteorder', Buffer.from('little'), false],
  ['archive/data/0', Buffer.alloc(256 * 1024 * 1024), true],
]));
}
const bundle = path.join(tmp, 'reader.js');
const esbuild = path.join(__dirname, '..', 'node_modules', '.bin', 'esbuild');
execFileSync(esbuild, [path.join(srcRoot, 'io/torch/checkpoint.ts'), '--bundle', '--platform=node', `--outfile=${bundle}`, '--external:yauzl', '--log-level=error']);
const child = `
const { TorchCheckpoint } = require(${JSON.stringify(bundle)});
(async () => {
  const t0 = Date.now();
  let outcome = 'read every tensor';
  try {
    const c = await TorchCheckpoint.open(${JSON.stringify(bomb)});
    for (const k of c.keys()) await c.readFloat32(k);
    await c.close();
  } catch (e) { outcome = 'refused: ' + e.message.slice(0, 160); }
  console.log(JSON.stringify({ outcome, seconds: (Date.now() - t0) / 1000, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
})();`;
const baseline = execFileSync(process.execPath, ['-e', 'console.log(Math.round(process.resourceUsage().maxRSS / 1024))']).toString().trim();
console.log(`bomb: ${fs.statSync(bomb).size} bytes on disk; bare node peak RSS ${baseline} MiB`);
const env = { ...process.env, NODE_PATH: path.join(__dirname, '..', 'node_modules') };
console.log(execFileSync(process.execPath, ['-e', child], { env }).toString().trim());
fs.rmSync(tmp, { recursive: true, force: true });
