/**
 * Builders for crafted torch zip checkpoints in tests: a minimal pickle writer (protocol 2 opcodes) and a
 * STORED-only zip writer, shared by the torch reader, converter and fuzz tests.
 */

/** Minimal pickle writer (protocol 2 opcodes). */
export const P = {
  proto: (): number[] => [0x80, 2],
  str: (s: string): number[] => {
    const b = Buffer.from(s, 'utf8');
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number): number[] => [0x4a, ...i32(n)],
  global: (module: string, name: string): number[] => [0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')],
  mark: (): number[] => [0x28],
  tuple: (): number[] => [0x74],
  emptyDict: (): number[] => [0x7d],
  emptyTuple: (): number[] => [0x29],
  setitems: (): number[] => [0x75],
  reduce: (): number[] => [0x52],
  stop: (): number[] => [0x2e],
};

export function u32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return [...b];
}

export function i32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return [...b];
}

/** Opcodes of one `name: _rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())` item. */
export function tensorItem(
  name: string,
  storageClass: string,
  key: string,
  numel: number,
  offset: number,
  shape: number[],
  stride: number[],
): number[] {
  return [
    ...P.str(name),
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.mark(),
    ...P.mark(), ...P.str('storage'), ...P.global('torch', storageClass), ...P.str(key), ...P.str('cpu'),
    ...P.int(numel), ...P.tuple(), 0x51, // BINPERSID
    ...P.int(offset),
    ...P.mark(), ...shape.flatMap(P.int), ...P.tuple(),
    ...P.mark(), ...stride.flatMap(P.int), ...P.tuple(),
    0x89, // NEWFALSE
    ...P.global('collections', 'OrderedDict'), ...P.emptyTuple(), ...P.reduce(),
    ...P.tuple(), ...P.reduce(),
  ];
}

/** A full state-dict pickle from items. */
export function stateDictPickle(items: number[][]): Uint8Array {
  return Uint8Array.from([...P.proto(), ...P.emptyDict(), ...P.mark(), ...items.flat(), ...P.setitems(), ...P.stop()]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Minimal zip writer: STORED entries, no zip64. */
export function makeZip(files: Record<string, Uint8Array | string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x21, 12); // date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/**
 * A torch.save-style zip: `archive/data.pkl`, `archive/byteorder` (`byteorder`, "little" unless told) and
 * `archive/data/<key>` per storage.
 */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}, byteorder = 'little'): Buffer {
  const files: Record<string, Uint8Array | string> = { 'archive/data.pkl': pickle, 'archive/byteorder': byteorder };
  for (const [key, data] of Object.entries(storages)) files[`archive/data/${key}`] = data;
  return makeZip(files);
}

/**
 * A zip whose entries named in `deflated` are compressed (method 8, raw deflate), the rest STORED; for zip and
 * pickle bombs (a few KB on disk inflating to many MB).
 */
export function makeDeflatedZip(files: Record<string, Uint8Array | string>, deflated: ReadonlySet<string>): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('zlib') as typeof import('zlib');
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const raw = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    const method = deflated.has(name) ? 8 : 0;
    const data = method === 8 ? zlib.deflateRawSync(raw, { level: 9 }) : raw;
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = (zlib as unknown as { crc32(b: Uint8Array): number }).crc32(raw) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
