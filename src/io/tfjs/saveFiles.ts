/**
 * Writing a tfjs model directory (the save half of ./fsHandler.ts): the weight bytes laid out in shards, each shard
 * and model.json written to new files, and the weight files a previous model.json named (to remove on overwrite).
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fsp, constants as fsConstants } from 'fs';
import { join } from 'path';
import { errnoCode } from '../outputDir';
import { CHUNK_BYTES } from '../files';

export const MODEL_JSON = 'model.json';

export const WEIGHTS_BIN = 'weights.bin';

/** The weight data as a list of byte views (no copies). */
export function weightPieces(data: tf.io.WeightData | undefined): Uint8Array[] {
  if (data == null) return [];
  return (Array.isArray(data) ? data : [data]).map((b) => new Uint8Array(b));
}

/** Weight file names for `total` bytes: one `weights.bin`, or N shards of at most `shardSize` bytes. */
export function shardLayout(total: number, shardSize: number | undefined): { name: string; begin: number; end: number }[] {
  if (shardSize === undefined) return [{ name: WEIGHTS_BIN, begin: 0, end: total }];
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0) {
    throw new Error(`fileSystem: shardSizeBytes must be a positive integer, got ${shardSize}`);
  }
  const n = Math.max(1, Math.ceil(total / shardSize));
  return Array.from({ length: n }, (_, i) => ({
    name: `group1-shard${i + 1}of${n}.bin`,
    begin: i * shardSize,
    end: Math.min(total, (i + 1) * shardSize),
  }));
}

/** Writes bytes [begin, end) of the concatenation of `pieces` to a new file at `path`, then fsyncs it. */
export async function writeRange(path: string, pieces: Uint8Array[], begin: number, end: number): Promise<void> {
  const fh = await fsp.open(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
  try {
    let pieceStart = 0;
    let position = 0;
    for (const piece of pieces) {
      const from = Math.max(begin, pieceStart) - pieceStart;
      const to = Math.min(end, pieceStart + piece.length) - pieceStart;
      for (let at = from; at < to;) {
        const { bytesWritten } = await fh.write(piece, at, Math.min(CHUNK_BYTES, to - at), position);
        at += bytesWritten;
        position += bytesWritten;
      }
      pieceStart += piece.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `model.json` and the weight files into the (empty, temporary) directory `dir`. */
export async function writeModelFiles(dir: string, json: string, pieces: Uint8Array[], layout: ReturnType<typeof shardLayout>): Promise<void> {
  for (const shard of layout) await writeRange(join(dir, shard.name), pieces, shard.begin, shard.end);
  await writeRange(join(dir, MODEL_JSON), [Buffer.from(json, 'utf8')], 0, Buffer.byteLength(json, 'utf8'));
}

/** Weight file names listed by an existing model.json (simple `.bin` names only), or [] if unreadable. */
export async function previousWeightFiles(modelJsonPath: string): Promise<string[]> {
  try {
    const old = JSON.parse(await fsp.readFile(modelJsonPath, 'utf8')) as { weightsManifest?: { paths?: unknown }[] };
    const names = (old.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths : []));
    return names.filter((p): p is string => typeof p === 'string' && /^[\w.-]+\.bin$/.test(p));
  } catch {
    return [];
  }
}

/** Whether `path` is a directory, something else, or missing (also when a parent is not a directory). */
export async function pathKind(path: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await fsp.stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new Error(`Cannot access ${path}: ${(err as Error).message}`);
  }
}
