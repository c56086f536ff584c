/**
 * Finds the integer fields of a zip archive for the fuzzer: sizes, offsets, counts and name/extra lengths of
 * every local file header, central directory header, extra field, end-of-central-directory record and the
 * zip64 records, located by their signatures.
 */
import { Field } from './fields';
import { readUint } from './bytes';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;

type Layout = ReadonlyArray<[number, 1 | 2 | 4 | 8, string]>;

const LOCAL_FIELDS: Layout = [
  [6, 2, 'flags'], [8, 2, 'method'], [18, 4, 'compressed size'], [22, 4, 'uncompressed size'],
  [26, 2, 'name length'], [28, 2, 'extra length'],
];
const CENTRAL_FIELDS: Layout = [
  [8, 2, 'flags'], [10, 2, 'method'], [20, 4, 'compressed size'], [24, 4, 'uncompressed size'],
  [28, 2, 'name length'], [30, 2, 'extra length'], [32, 2, 'comment length'], [34, 2, 'disk'], [42, 4, 'local header offset'],
];
const EOCD_FIELDS: Layout = [
  [4, 2, 'disk'], [6, 2, 'cd disk'], [8, 2, 'entries on disk'], [10, 2, 'entries'], [12, 4, 'cd size'],
  [16, 4, 'cd offset'], [20, 2, 'comment length'],
];
const EOCD64_FIELDS: Layout = [
  [4, 8, 'record size'], [16, 4, 'disk'], [24, 8, 'entries on disk'], [32, 8, 'entries'], [40, 8, 'cd size'], [48, 8, 'cd offset'],
];
const LOCATOR64_FIELDS: Layout = [[4, 4, 'cd disk'], [8, 8, 'zip64 eocd offset'], [16, 4, 'disks']];

function push(out: Field[], base: number, layout: Layout, what: string, size: number): void {
  for (const [at, width, name] of layout) {
    if (base + at + width <= size) out.push({ offset: base + at, width, name: `${what}: ${name}` });
  }
}

/** The id/size headers of the extra fields in [start, end), and zip64 values inside them. */
function extraFields(bytes: Uint8Array, start: number, end: number, what: string, out: Field[]): void {
  let at = start;
  while (at + 4 <= end && at + 4 <= bytes.length) {
    const id = Number(readUint(bytes, at, 2));
    const len = Number(readUint(bytes, at + 2, 2));
    out.push({ offset: at + 2, width: 2, name: `${what} extra 0x${id.toString(16)}: size` });
    if (id === 0x0001) {
      for (let v = 0; v + 8 <= len && at + 4 + v + 8 <= bytes.length; v += 8) {
        out.push({ offset: at + 4 + v, width: 8, name: `${what} zip64 extra value ${v / 8}` });
      }
    }
    at += 4 + len;
  }
}

/** Every recognized integer field of a zip file. */
export function scanZipFields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let locals = 0;
  let centrals = 0;
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (bytes[i] !== 0x50 || bytes[i + 1] !== 0x4b) continue; // "PK"
    const sig = Number(readUint(bytes, i, 4));
    if (sig === LOCAL && i + 30 <= bytes.length) {
      const what = `zip local ${locals++}`;
      push(out, i, LOCAL_FIELDS, what, bytes.length);
      const nameLen = Number(readUint(bytes, i + 26, 2));
      const extraLen = Number(readUint(bytes, i + 28, 2));
      extraFields(bytes, i + 30 + nameLen, i + 30 + nameLen + extraLen, what, out);
    } else if (sig === CENTRAL && i + 46 <= bytes.length) {
      const what = `zip central ${centrals++}`;
      push(out, i, CENTRAL_FIELDS, what, bytes.length);
      const nameLen = Number(readUint(bytes, i + 28, 2));
      const extraLen = Number(readUint(bytes, i + 30, 2));
      extraFields(bytes, i + 46 + nameLen, i + 46 + nameLen + extraLen, what, out);
    } else if (sig === EOCD) {
      push(out, i, EOCD_FIELDS, 'zip eocd', bytes.length);
    } else if (sig === EOCD64) {
      push(out, i, EOCD64_FIELDS, 'zip64 eocd', bytes.length);
    } else if (sig === LOCATOR64) {
      push(out, i, LOCATOR64_FIELDS, 'zip64 locator', bytes.length);
    }
  }
  return out;
}

/**
 * Where the data of the first entry whose name ends with `suffix` lies, from its central directory header
 * (torch writes local headers with zero sizes and a data descriptor, so only the central sizes are real).
 */
export function findStoredEntry(bytes: Uint8Array, suffix: string): { start: number; size: number } | null {
  const want = Buffer.from(suffix, 'utf8');
  for (let i = 0; i + 46 <= bytes.length; i++) {
    if (bytes[i] !== 0x50 || bytes[i + 1] !== 0x4b || Number(readUint(bytes, i, 4)) !== CENTRAL) continue;
    const nameLen = Number(readUint(bytes, i + 28, 2));
    const name = Buffer.from(bytes.subarray(i + 46, i + 46 + nameLen));
    if (name.length < want.length || !name.subarray(name.length - want.length).equals(want)) continue;
    const size = Number(readUint(bytes, i + 20, 4));
    const local = Number(readUint(bytes, i + 42, 4));
    if (local + 30 > bytes.length || Number(readUint(bytes, local, 4)) !== LOCAL) return null;
    const start = local + 30 + Number(readUint(bytes, local + 26, 2)) + Number(readUint(bytes, local + 28, 2));
    return start + size <= bytes.length ? { start, size } : null;
  }
  return null;
}
