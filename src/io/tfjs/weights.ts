/**
 * The weights of a tfjs model directory (model.json + weight files), read one at a time with positioned
 * reads: never a whole file, so directories of any size work. Weights may span files. Stored float32,
 * or quantized (float16, uint8/uint16 affine) and read back as float32, in tfjs layout.
 */
import { promises as fsp } from 'fs';
import { dirname, resolve } from 'path';
import { resolveInside } from '../safePath';
import { readJsonFileSync } from '../regularFile';
import { checkSpec } from './loadFiles';
import { capList } from '../describeValue';
import type * as tf from '@tensorflow/tfjs-core';
import { float16BitsToFloat32 } from '../safetensors/halfFloat';
import { CHUNK_BYTES } from '../files';


/** Where a weight's bytes are: a byte range of its group's files, end to end. */
interface Located {
  spec: tf.io.WeightsManifestEntry;
  files: { path: string; size: number }[];
  /** Offset in the concatenation of `files`. */
  begin: number;
  bytes: number;
}

/** Byte size of a weight spec, or an Error naming it when tfjs's layout is not fixed (strings) or unknown. */
function byteLength(spec: tf.io.WeightsManifestEntry, where: string): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  const size = q != null
    ? ({ uint8: 1, uint16: 2, float16: 2 } as Record<string, number>)[q.dtype]
    : ({ float32: 4, int32: 4, bool: 1 } as Record<string, number>)[spec.dtype];
  if (size === undefined) {
    throw new Error(`${where}: weight "${spec.name}" has dtype ${spec.dtype}${q ? ` quantized as ${q.dtype}` : ''}; expected float32 (optionally quantized float16, uint8 or uint16)`);
  }
  return n * size;
}

/** Decodes one weight's stored bytes (a fresh, aligned buffer) to float32 (int32: int8 words, as stored). */
function decode(spec: tf.io.WeightsManifestEntry, bytes: ArrayBuffer, where: string): Float32Array | Int32Array {
  const q = spec.quantization;
  if (spec.dtype === 'int32' && q == null) return new Int32Array(bytes);
  if (spec.dtype !== 'float32') throw new Error(`${where}: weight "${spec.name}" has dtype ${spec.dtype}, expected float32`);
  if (q == null) return new Float32Array(bytes);
  if (q.dtype === 'float16') return float16BitsToFloat32(new Uint16Array(bytes));
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    if (typeof q.scale !== 'number' || typeof q.min !== 'number') {
      throw new Error(`${where}: weight "${spec.name}" is quantized ${q.dtype} but has no numeric scale and min`);
    }
    const src = q.dtype === 'uint8' ? new Uint8Array(bytes) : new Uint16Array(bytes);
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] * q.scale + q.min;
    return out;
  }
  throw new Error(`${where}: weight "${spec.name}" has unknown quantization ${JSON.stringify(q.dtype)} (expected float16, uint8 or uint16)`);
}

/** The model weights of a tfjs model directory; optimizer weights are skipped. */
export class TfjsWeights {
  private constructor(
    /** The model.json path. */
    readonly modelJsonPath: string,
    /** The parsed model.json. */
    readonly modelJson: tf.io.ModelJSON,
    private readonly byName: Map<string, Located>,
  ) {}

  /**
   * Reads `<dir>/model.json` (or the model.json path given) and indexes its weights.
   * @throws Error naming the file: missing or invalid model.json, a listed weight file missing, files
   *   whose sizes do not add up to what the specs need, a duplicate weight name.
   */
  static async open(dirOrModelJson: string): Promise<TfjsWeights> {
    let jsonPath = resolve(dirOrModelJson);
    try {
      if ((await fsp.stat(jsonPath)).isDirectory()) jsonPath = resolve(jsonPath, 'model.json');
    } catch {
      throw new Error(`expected a tfjs model directory or model.json, got ${jsonPath} (missing)`);
    }
    const modelJson = readJsonFileSync(jsonPath, 'a tfjs model.json') as tf.io.ModelJSON;
    if (modelJson == null || typeof modelJson !== 'object' || !Array.isArray(modelJson.weightsManifest)) {
      throw new Error(`${jsonPath}: expected a tfjs model.json with a weightsManifest array`);
    }
    const byName = new Map<string, Located>();
    for (const [g, group] of modelJson.weightsManifest.entries()) {
      if (group == null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
        throw new Error(`${jsonPath}: weightsManifest[${g}] must have "paths" and "weights" arrays`);
      }
      const files: { path: string; size: number }[] = [];
      for (const rel of group.paths) {
        const path = resolveInside(dirname(jsonPath), rel, jsonPath);
        let st;
        try {
          st = await fsp.stat(path);
        } catch {
          throw new Error(`${jsonPath}: lists weight file ${path}, which does not exist`);
        }
        if (!st.isFile()) throw new Error(`${jsonPath}: lists weight file ${path}, which is not a regular file`);
        files.push({ path, size: st.size });
      }
      let offset = 0;
      for (const raw of group.weights) {
        const spec = checkSpec(raw, jsonPath, ['float32', 'int32']); // before any size work: strings, bools, bad shapes refused
        const bytes = byteLength(spec, jsonPath);
        if (spec.group !== 'optimizer') {
          if (byName.has(spec.name)) throw new Error(`${jsonPath}: weight "${spec.name}" is listed twice`);
          byName.set(spec.name, { spec, files, begin: offset, bytes });
        }
        offset += bytes;
      }
      const held = files.reduce((s, f) => s + f.size, 0);
      if (held !== offset) {
        throw new Error(`${jsonPath}: weight group ${g} files [${capList(group.paths)}] hold ${held} bytes, ` +
          `but its ${group.weights.length} weight specs need ${offset} (truncated or mismatched shard?)`);
      }
    }
    return new TfjsWeights(jsonPath, modelJson, byName);
  }

  /** Weight names, in manifest order. */
  keys(): string[] {
    return [...this.byName.keys()];
  }

  private get(name: string): Located {
    const w = this.byName.get(name);
    if (!w) throw new Error(`${this.modelJsonPath}: no weight named "${name}"`);
    return w;
  }

  /** A weight's shape (tfjs layout). */
  shape(name: string): number[] {
    return [...this.get(name).spec.shape];
  }

  /** The weight file where a weight begins (for messages). */
  fileOf(name: string): string {
    const w = this.get(name);
    let at = w.begin;
    for (const f of w.files) {
      if (at < f.size || f === w.files[w.files.length - 1]) return f.path;
      at -= f.size;
    }
    return this.modelJsonPath;
  }

  /** A weight's values as float32, tfjs layout. */
  async readFloat32(name: string): Promise<Float32Array> {
    const data = await this.read(name);
    if (!(data instanceof Float32Array)) throw new Error(`${this.modelJsonPath}: weight "${name}" is int32 (int8 words), expected float32`);
    return data;
  }

  /** A weight's values as stored: float32 (tfjs layout), or int32 (an int8 model's words, layers/int8.ts). */
  async read(name: string): Promise<Float32Array | Int32Array> {
    const w = this.get(name);
    const buf = new ArrayBuffer(w.bytes);
    const target = new Uint8Array(buf);
    let fileStart = 0;
    let done = 0;
    for (const f of w.files) {
      const from = w.begin + done - fileStart; // position in this file
      if (done < w.bytes && from >= 0 && from < f.size) {
        const n = Math.min(f.size - from, w.bytes - done);
        await readRange(f.path, target.subarray(done, done + n), from);
        done += n;
      }
      fileStart += f.size;
    }
    if (done !== w.bytes) throw new Error(`${this.modelJsonPath}: weight "${name}" runs past its weight files`);
    return decode(w.spec, buf, this.modelJsonPath);
  }

  /** Nothing to release (files are opened per read); here for symmetry with the checkpoint readers. */
  async close(): Promise<void> {}
}

/** Fills `target` from `path` at `position`, failing if the file ends early. */
async function readRange(path: string, target: Uint8Array, position: number): Promise<void> {
  const fh = await fsp.open(path, 'r');
  try {
    for (let done = 0; done < target.length;) {
      const { bytesRead } = await fh.read(target, done, Math.min(CHUNK_BYTES, target.length - done), position + done);
      if (bytesRead === 0) throw new Error(`${path}: unexpected end of file at byte ${position + done} (was it changed while reading?)`);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
