/**
 * tfjs weight shards: `group1-shard{i}of{N}.bin` files holding the weights back to back in manifest
 * order, each weight wholly inside one shard. Written one weight at a time, so only one tensor's bytes
 * are ever in memory.
 */
import { promises as fsp, constants as fsConstants } from 'fs';
import { join } from 'path';
import { writeFully } from '../files';

/** Default largest shard: 512 MiB (mamba-2.8b's embedding, 491 MiB in float32, fits in one). */
export const DEFAULT_SHARD_BYTES = 512 * 1024 * 1024;


/** The file name of shard `i` (0-based) of `n`. */
export function shardFileName(i: number, n: number): string {
  return `group1-shard${i + 1}of${n}.bin`;
}

/**
 * Groups weights, in order, into shards of at most `maxBytes` each; a weight bigger than `maxBytes`
 * gets a shard of its own (weights are never split).
 * @param sizes byte size of each weight, in manifest order
 * @returns for each shard, the indices of its weights
 */
export function planShards(sizes: number[], maxBytes: number): number[][] {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new Error(`planShards: expected a positive integer shard size, got ${maxBytes}`);
  const shards: number[][] = [];
  let current: number[] = [];
  let used = 0;
  sizes.forEach((size, i) => {
    if (current.length > 0 && used + size > maxBytes) {
      shards.push(current);
      current = [];
      used = 0;
    }
    current.push(i);
    used += size;
  });
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/**
 * Writes the shard files into `dir` (which must not hold them yet).
 * @param shards from {@link planShards}
 * @param sizes each weight's expected byte size
 * @param getBytes called once per weight, in order, for its encoded bytes
 * @returns the shard file names
 */
export async function writeShards(
  dir: string,
  shards: number[][],
  sizes: number[],
  getBytes: (index: number) => Promise<Uint8Array>,
  what: (index: number) => string = (i) => `weight ${i}`,
): Promise<string[]> {
  const names = shards.map((_, i) => shardFileName(i, shards.length));
  for (const [s, members] of shards.entries()) {
    const file = join(dir, names[s]);
    const fh = await fsp.open(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
    try {
      let position = 0;
      for (const i of members) {
        const bytes = await getBytes(i);
        if (bytes.length !== sizes[i]) throw new Error(`${what(i)}: expected ${sizes[i]} bytes, got ${bytes.length}`);
        await writeFully(fh, bytes, position);
        position += bytes.length;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  return names;
}
