/**
 * A checkpoint's tensors behind one interface, whatever the files: model.safetensors, sharded
 * model-0000i-of-0000n.safetensors listed in model.safetensors.index.json, or pytorch_model.bin.
 * Tensors are read one at a time, on demand.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../safetensors';
import { TorchCheckpoint } from '../torch/checkpoint';
import { resolveInside } from '../safePath';
import { readJsonFileSync } from '../regularFile';

export interface TensorSource {
  /** Every tensor key, in file order. */
  keys(): string[];
  /** The stored (torch-layout) shape of a key. */
  shape(key: string): number[];
  /** The key's values as float32. */
  readFloat32(key: string): Promise<Float32Array>;
  /** Which file holds the key (for messages). */
  fileOf(key: string): string;
  /** The stored element type of a key (F32, BF16, I64, ...). */
  dtype(key: string): string;
  close(): Promise<void>;
}

interface Readable {
  keys(): string[];
  entry(name: string): { shape: number[]; dtype: string };
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Several files behind one key space. */
class MultiFileSource implements TensorSource {
  constructor(private readonly byKey: Map<string, { file: Readable; path: string }>, private readonly files: Readable[]) {}
  keys(): string[] {
    return [...this.byKey.keys()];
  }
  private get(key: string) {
    const f = this.byKey.get(key);
    if (!f) throw new Error(`checkpoint has no tensor "${key}"`);
    return f;
  }
  shape(key: string): number[] {
    return this.get(key).file.entry(key).shape;
  }
  readFloat32(key: string): Promise<Float32Array> {
    return this.get(key).file.readFloat32(key);
  }
  fileOf(key: string): string {
    return this.get(key).path;
  }
  dtype(key: string): string {
    return this.get(key).file.entry(key).dtype;
  }
  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

async function openAll(paths: string[], open: (p: string) => Promise<Readable>): Promise<TensorSource> {
  const files: Readable[] = [];
  const byKey = new Map<string, { file: Readable; path: string }>();
  try {
    for (const p of paths) {
      const f = await open(p);
      files.push(f);
      for (const k of f.keys()) {
        const prior = byKey.get(k);
        if (prior) throw new Error(`tensor "${k}" appears in both ${prior.path} and ${p}`);
        byKey.set(k, { file: f, path: p });
      }
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
  return new MultiFileSource(byKey, files);
}

/** The shard files named by model.safetensors.index.json, each checked to exist. */
function shardsFromIndex(dir: string, indexPath: string): string[] {
  const index = readJsonFileSync(indexPath, 'a safetensors index') as { weight_map?: Record<string, string> };
  if (index === null || typeof index !== 'object' || !index.weight_map || typeof index.weight_map !== 'object') {
    throw new Error(`${indexPath}: expected a "weight_map" object`);
  }
  const shards = [...new Set(Object.values(index.weight_map))];
  for (const s of shards) {
    if (typeof s !== 'string' || s.includes('/') || s.includes('\\') || s.startsWith('.')) {
      throw new Error(`${indexPath}: expected shard file names, got ${JSON.stringify(s)}`);
    }
    resolveInside(dir, s, indexPath); // no symbolic link out of the checkpoint directory
    if (!fs.existsSync(path.join(dir, s))) throw new Error(`${indexPath}: names shard ${s}, which is missing from ${dir}`);
  }
  return shards.map((s) => path.join(dir, s));
}

/** Open the weights of a checkpoint directory, whichever files it has. */
export async function openCheckpointTensors(dir: string): Promise<TensorSource> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const bin = path.join(dir, 'pytorch_model.bin');
  if (fs.existsSync(single)) return openAll([single], (p) => SafetensorsFile.open(p));
  if (fs.existsSync(index)) return openAll(shardsFromIndex(dir, index), (p) => SafetensorsFile.open(p));
  if (fs.existsSync(bin)) return openAll([bin], (p) => TorchCheckpoint.open(p));
  throw new Error(
    `${dir}: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin, found [${fs.readdirSync(dir).join(', ')}]`,
  );
}
