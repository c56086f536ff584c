/**
 * The zip side of a torch.save checkpoint: opening it through the bounded reader, listing its entries, finding the
 * archive folder, its byte order, reading a whole (bounded) entry, and checking an entry's claimed sizes.
 */
import { promises as fsp } from 'fs';
import * as yauzl from 'yauzl';
import { BoundedZipReader } from './zipReader';

/** Deflate never expands data more than about 1032:1; a larger claimed ratio is a corrupt directory. */
export const MAX_DEFLATE_RATIO = 1032;

/** Opens the zip's central directory, with a clear error for non-zip and legacy files. */
export async function openZip(path: string, file: fsp.FileHandle, what: string): Promise<yauzl.ZipFile> {
  try {
    const { size } = await file.stat();
    return await yauzl.fromRandomAccessReaderPromise(new BoundedZipReader(file, size), size, { lazyEntries: true, autoClose: false });
  } catch (e) {
    const head = new Uint8Array(2);
    await file.read(head, 0, 2, 0).catch(() => undefined);
    const legacy = head[0] === 0x80 && head[1] === 0x02;
    throw new Error(
      `${what}: not a readable zip archive (expected a torch.save zip checkpoint` +
        (legacy ? '; this looks like the pre-1.6 legacy torch format, re-save it with a recent torch' : '') +
        `): ${(e as Error).message}`,
    );
  }
}

/** All entries of the zip by name. */
export async function listEntries(zip: yauzl.ZipFile, what: string): Promise<Map<string, yauzl.Entry>> {
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
  } catch (e) {
    throw new Error(`${what}: corrupt zip central directory: ${(e as Error).message}`);
  }
  return entries;
}

/** The archive folder name: the `X` of the single `X/data.pkl` entry. */
export function findArchive(entries: ReadonlyMap<string, yauzl.Entry>, what: string): string {
  const found = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (found.length !== 1) {
    const names = [...entries.keys()].slice(0, 8).join(', ');
    throw new Error(
      `${what}: expected exactly one "<archive>/data.pkl" entry, found ${found.length} ` +
        `(entries: ${names || 'none'}${entries.size > 8 ? ', ...' : ''})`,
    );
  }
  return found[0].slice(0, -'/data.pkl'.length);
}

/** Byte order recorded in `<archive>/byteorder` (absent in old files: little-endian). */
export async function readByteOrder(zip: yauzl.ZipFile, entry: yauzl.Entry | undefined, what: string): Promise<boolean> {
  if (!entry) return true;
  const text = Buffer.from(await readWholeEntry(zip, entry, 64, what)).toString('latin1').trim();
  if (text !== 'little' && text !== 'big') {
    throw new Error(`${what}: ${entry.fileName} should say "little" or "big", got "${text}"`);
  }
  return text === 'little';
}

/** Reads one (small) entry completely, decompressing if needed. */
export async function readWholeEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, maxBytes: number, what: string): Promise<Uint8Array> {
  if (entry.uncompressedSize > maxBytes) {
    throw new Error(`${what}: ${entry.fileName} has ${entry.uncompressedSize} bytes, expected at most ${maxBytes}`);
  }
  checkEntryClaim(entry, zip.fileSize, `${what}: entry ${entry.fileName}`);
  try {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (e) {
    throw new Error(`${what}: cannot read ${entry.fileName}: ${(e as Error).message}`);
  }
}

/**
 * Checks a zip entry's sizes against the file before anything is allocated for it: its stored bytes must
 * fit in the file, and a compressed entry cannot expand beyond deflate's maximum ratio.
 */
export function checkEntryClaim(entry: yauzl.Entry, fileSize: number, what: string): void {
  if (entry.compressedSize > fileSize) {
    throw new Error(`${what} claims ${entry.compressedSize} stored bytes, but the file has only ${fileSize} (corrupt zip directory?)`);
  }
  if (entry.compressionMethod !== 0 && entry.uncompressedSize > MAX_DEFLATE_RATIO * entry.compressedSize + 1024) {
    throw new Error(
      `${what} claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed ones, more than ` +
        `deflate's maximum ratio of ${MAX_DEFLATE_RATIO}:1 (corrupt zip directory?)`,
    );
  }
}

/**
 * Fills `target` with the inflated bytes of `entry` from byte `start` on, streaming: only `target` is held,
 * never the whole entry, and inflating stops once `target` is full.
 */
export async function inflateRange(zip: yauzl.ZipFile, entry: yauzl.Entry, start: number, target: Uint8Array, what: string): Promise<void> {
  if (target.length === 0) return;
  checkEntryClaim(entry, zip.fileSize, `${what}: entry ${entry.fileName}`);
  let at = 0; // inflated bytes seen
  let filled = 0;
  try {
    const stream = await zip.openReadStreamPromise(entry);
    try {
      for await (const chunk of stream) {
        const c = chunk as Buffer;
        const from = Math.max(0, start - at);
        if (from < c.length) {
          const n = Math.min(c.length - from, target.length - filled);
          target.set(c.subarray(from, from + n), filled);
          filled += n;
        }
        at += c.length;
        if (filled === target.length) break;
      }
    } finally {
      stream.destroy();
    }
  } catch (e) {
    throw new Error(`${what}: cannot read ${entry.fileName}: ${(e as Error).message}`);
  }
  if (filled < target.length) throw new Error(`${what}: ${entry.fileName} inflated to ${at} bytes, expected at least ${start + target.length}`);
}
