/**
 * A `file://` IOHandler for pure @tensorflow/tfjs in Node (only tfjs-node ships one).
 *
 * The on-disk format is the one tfjs-node's handler writes: `model.json` (modelTopology, format,
 * generatedBy, convertedBy, weightsManifest, plus trainingConfig / signature / userDefinedMetadata
 * when present) next to the weight file(s) it lists, by default a single `weights.bin`.
 *
 * Saving is atomic: a new model directory is written in full to a temporary directory beside it and
 * renamed into place; an existing directory gets its weight files and then `model.json` replaced by
 * renames, so a reader never sees a half-written file and other files in the directory are kept.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fsp, constants as fsConstants } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { errnoCode, removeEmptyDirs } from './outputDir';

/** Options of {@link fileSystem}. */
export interface FileSystemOptions {
  /**
   * When set, weights are written as `group1-shard{i}of{N}.bin` files of at most this many bytes
   * each (the layout tfjs-converter produces). When unset, one `weights.bin` holds everything.
   */
  shardSizeBytes?: number;
}

const URL_SCHEME = 'file://';
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
/** Bytes moved per read or write call (Node caps one call at 2 GiB). */
const IO_CHUNK = 64 * 1024 * 1024;
/** Largest weight file `load` reads into one ArrayBuffer: bigger ArrayBuffers are unreliable in Node. */
const MAX_LOAD_BYTES = 2 ** 31 - 1;

/** Bytes per element of a weight spec, or null where it cannot be known from the spec (strings). */
function specByteLength(spec: tf.io.WeightsManifestEntry): number | null {
  if (spec == null || !Array.isArray(spec.shape)) return null;
  const q = spec.quantization;
  const itemSize = q != null
    ? ({ uint8: 1, uint16: 2, float16: 2 } as Record<string, number>)[q.dtype]
    : ({ float32: 4, int32: 4, bool: 1, complex64: 8 } as Record<string, number>)[spec.dtype];
  if (itemSize === undefined) return null;
  return spec.shape.reduce((a, b) => a * b, 1) * itemSize;
}

/** The weight data as a list of byte views (no copies). */
function weightPieces(data: tf.io.WeightData | undefined): Uint8Array[] {
  if (data == null) return [];
  return (Array.isArray(data) ? data : [data]).map((b) => new Uint8Array(b));
}

/** Weight file names for `total` bytes: one `weights.bin`, or N shards of at most `shardSize` bytes. */
function shardLayout(total: number, shardSize: number | undefined): { name: string; begin: number; end: number }[] {
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
async function writeRange(path: string, pieces: Uint8Array[], begin: number, end: number): Promise<void> {
  const fh = await fsp.open(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
  try {
    let pieceStart = 0;
    let position = 0;
    for (const piece of pieces) {
      const from = Math.max(begin, pieceStart) - pieceStart;
      const to = Math.min(end, pieceStart + piece.length) - pieceStart;
      for (let at = from; at < to;) {
        const { bytesWritten } = await fh.write(piece, at, Math.min(IO_CHUNK, to - at), position);
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
async function writeModelFiles(dir: string, json: string, pieces: Uint8Array[], layout: ReturnType<typeof shardLayout>): Promise<void> {
  for (const shard of layout) await writeRange(join(dir, shard.name), pieces, shard.begin, shard.end);
  await writeRange(join(dir, MODEL_JSON), [Buffer.from(json, 'utf8')], 0, Buffer.byteLength(json, 'utf8'));
}

/** Weight file names listed by an existing model.json (simple `.bin` names only), or [] if unreadable. */
async function previousWeightFiles(modelJsonPath: string): Promise<string[]> {
  try {
    const old = JSON.parse(await fsp.readFile(modelJsonPath, 'utf8')) as { weightsManifest?: { paths?: unknown }[] };
    const names = (old.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths : []));
    return names.filter((p): p is string => typeof p === 'string' && /^[\w.-]+\.bin$/.test(p));
  } catch {
    return [];
  }
}

/** Whether `path` is a directory, something else, or missing (also when a parent is not a directory). */
async function pathKind(path: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await fsp.stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new Error(`Cannot access ${path}: ${(err as Error).message}`);
  }
}

/** Fills `target` from `fh` at `position`, failing if the file is shorter than expected. */
async function readInto(fh: fsp.FileHandle, path: string, target: Uint8Array, position: number, expected: number): Promise<void> {
  for (let done = 0; done < target.length;) {
    const { bytesRead } = await fh.read(target, done, Math.min(IO_CHUNK, target.length - done), position + done);
    if (bytesRead === 0) throw new Error(`weight file ${path} ended after ${position + done} bytes, expected ${expected} (was it changed while loading?)`);
    done += bytesRead;
  }
}

/** IOHandler reading and writing a model directory on the local file system. */
class FileSystemHandler implements tf.io.IOHandler {
  private readonly path: string;

  constructor(path: string, private readonly options: FileSystemOptions = {}) {
    if (typeof path !== 'string' || path === '') throw new Error(`fileSystem: expected a non-empty path, got ${JSON.stringify(path)}`);
    this.path = resolve(path);
  }

  /** Writes the model directory `this.path` (created if missing; parents too). */
  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('fileSystem: saving a binary (GraphDef) model topology is not supported; expected a JSON topology');
    }
    const pieces = weightPieces(artifacts.weightData);
    const total = pieces.reduce((s, p) => s + p.length, 0);
    const layout = shardLayout(total, this.options.shardSizeBytes);
    const modelJSON: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as {},
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: layout.map((s) => s.name), weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
    if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
    if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
    if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
    if (artifacts.initializerSignature != null) modelJSON.initializerSignature = artifacts.initializerSignature;
    const json = JSON.stringify(modelJSON);

    const kind = await pathKind(this.path);
    if (kind === 'other') throw new Error(`Cannot save model to ${this.path}: it exists and is not a directory`);
    if (kind === 'directory') await this.replaceInto(json, pieces, layout);
    else await this.createFresh(json, pieces, layout);
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  /** New directory: write everything to a temporary directory beside it, then rename it into place. */
  private async createFresh(json: string, pieces: Uint8Array[], layout: ReturnType<typeof shardLayout>): Promise<void> {
    const parent = dirname(this.path);
    let createdTop: string | undefined;
    try {
      createdTop = await fsp.mkdir(parent, { recursive: true });
    } catch (err) {
      throw new Error(`Cannot save model to ${this.path}: cannot create parent directory ${parent} (${(err as Error).message})`);
    }
    let tmp: string | undefined;
    try {
      tmp = await fsp.mkdtemp(join(parent, `.${basename(this.path)}.tmp-`));
      await fsp.chmod(tmp, 0o755); // mkdtemp makes it owner-only; the final directory should not be
      await writeModelFiles(tmp, json, pieces, layout);
      await fsp.rename(tmp, this.path);
    } catch (err) {
      if (tmp !== undefined) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      if (createdTop !== undefined) await removeEmptyDirs(parent, createdTop);
      throw new Error(`Cannot save model to ${this.path}: ${(err as Error).message}`);
    }
  }

  /**
   * Existing directory: write into a temporary directory inside it, then rename the weight files
   * and finally model.json over the old ones; weight files only the old model.json used are removed.
   */
  private async replaceInto(json: string, pieces: Uint8Array[], layout: ReturnType<typeof shardLayout>): Promise<void> {
    const jsonPath = join(this.path, MODEL_JSON);
    const stale = await previousWeightFiles(jsonPath);
    let tmp: string | undefined;
    try {
      tmp = await fsp.mkdtemp(join(this.path, '.save.tmp-'));
      await writeModelFiles(tmp, json, pieces, layout);
      for (const shard of layout) await fsp.rename(join(tmp, shard.name), join(this.path, shard.name));
      await fsp.rename(join(tmp, MODEL_JSON), jsonPath);
    } catch (err) {
      throw new Error(`Cannot save model to ${this.path}: ${(err as Error).message}`);
    } finally {
      if (tmp !== undefined) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
    const current = new Set(layout.map((s) => s.name));
    for (const name of stale) {
      if (!current.has(name)) await fsp.rm(join(this.path, name), { force: true }).catch(() => undefined);
    }
  }

  /** Reads `model.json` (given directly, or inside the given directory) and all its weight files. */
  async load(): Promise<tf.io.ModelArtifacts> {
    const jsonPath = await this.modelJsonPath();
    let modelJSON: tf.io.ModelJSON;
    try {
      modelJSON = JSON.parse(await fsp.readFile(jsonPath, 'utf8'));
    } catch (err) {
      throw new Error(`Cannot load model: ${jsonPath} is not valid JSON (${(err as Error).message})`);
    }
    if (modelJSON === null || typeof modelJSON !== 'object' || Array.isArray(modelJSON) ||
        (modelJSON.modelTopology == null && modelJSON.weightsManifest == null)) {
      throw new Error(`Cannot load model: ${jsonPath} is not a tfjs model.json (expected an object with modelTopology and/or weightsManifest)`);
    }
    const artifacts: tf.io.ModelArtifacts = {
      modelTopology: modelJSON.modelTopology,
      format: modelJSON.format,
      generatedBy: modelJSON.generatedBy,
      convertedBy: modelJSON.convertedBy,
    };
    if (modelJSON.weightsManifest != null) {
      const { specs, data } = await this.loadWeights(modelJSON.weightsManifest, jsonPath);
      artifacts.weightSpecs = specs;
      artifacts.weightData = data;
    }
    if (modelJSON.trainingConfig != null) artifacts.trainingConfig = modelJSON.trainingConfig;
    if (modelJSON.signature != null) artifacts.signature = modelJSON.signature;
    if (modelJSON.userDefinedMetadata != null) artifacts.userDefinedMetadata = modelJSON.userDefinedMetadata;
    if (modelJSON.modelInitializer != null) artifacts.modelInitializer = modelJSON.modelInitializer;
    if (modelJSON.initializerSignature != null) artifacts.initializerSignature = modelJSON.initializerSignature;
    return artifacts;
  }

  /** `this.path` if it is a file, `this.path/model.json` if it is a directory; clear errors otherwise. */
  private async modelJsonPath(): Promise<string> {
    let st;
    try {
      st = await fsp.stat(this.path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new Error(`Cannot load model: ${this.path} does not exist`);
      throw new Error(`Cannot load model from ${this.path}: ${(err as Error).message}`);
    }
    if (!st.isDirectory()) return this.path;
    const jsonPath = join(this.path, MODEL_JSON);
    try {
      await fsp.access(jsonPath);
    } catch {
      throw new Error(`Cannot load model: directory ${this.path} has no ${MODEL_JSON}`);
    }
    return jsonPath;
  }

  /**
   * Checks every weight group against its files' sizes, then reads each file into its own ArrayBuffer
   * (tfjs ≥ 4.x takes a list and slices weights across them), so models of many GiB load as long as
   * no single weight file reaches 2 GiB.
   */
  private async loadWeights(manifest: tf.io.WeightsManifestConfig, jsonPath: string):
      Promise<{ specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer[] }> {
    if (!Array.isArray(manifest)) throw new Error(`Cannot load model: ${jsonPath}: weightsManifest must be an array of {paths, weights}`);
    const dir = dirname(jsonPath);
    const files: { path: string; size: number }[] = [];
    const specs: tf.io.WeightsManifestEntry[] = [];
    for (const [g, group] of manifest.entries()) {
      if (group == null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
        throw new Error(`Cannot load model: ${jsonPath}: weightsManifest[${g}] must have "paths" and "weights" arrays`);
      }
      let groupBytes = 0;
      for (const rel of group.paths) {
        const path = resolve(dir, rel);
        let size: number;
        try {
          size = (await fsp.stat(path)).size;
        } catch {
          throw new Error(`Cannot load model: weight file ${path} (listed in ${jsonPath}) does not exist`);
        }
        files.push({ path, size });
        groupBytes += size;
      }
      const lengths = group.weights.map(specByteLength);
      if (lengths.every((n) => n !== null)) {
        const needed = (lengths as number[]).reduce((a, b) => a + b, 0);
        if (needed !== groupBytes) {
          throw new Error(`Cannot load model: ${jsonPath}: weight group ${g} files [${group.paths.join(', ')}] hold ${groupBytes} bytes, ` +
            `but its ${group.weights.length} weight specs need ${needed} bytes (truncated or mismatched shard?)`);
        }
      }
      specs.push(...group.weights);
    }
    const big = files.find((f) => f.size > MAX_LOAD_BYTES);
    if (big) {
      const total = files.reduce((s, f) => s + f.size, 0);
      throw new Error(`Cannot load model: ${jsonPath}: its weights total ${total} bytes (${(total / 2 ** 30).toFixed(2)} GiB) and weight file ` +
        `${big.path} alone holds ${big.size}, more than one ArrayBuffer can reliably hold in Node (2 GiB); ` +
        'save it in shards (fileSystem(dir, {shardSizeBytes})), or convert the checkpoint with `mamba-tfjs convert`, ' +
        'or load the checkpoint with the streaming safetensors loader instead');
    }
    const pieceSize = pieceSizeFor(files);
    const data: ArrayBuffer[] = [];
    for (const f of files) data.push(...(await readFilePieces(f.path, f.size, pieceSize)));
    return { specs, data };
  }
}

/**
 * The size to cut the last weight file into, or null to read every file whole.
 *
 * Porting note: tfjs 4.22's CompositeArrayBuffer, when every buffer but the last has one size u, finds
 * the buffer of byte b as floor(b / u): wrong (silently zeros) when the last buffer is longer than u.
 * Cutting the last file into pieces of u bytes keeps that arithmetic right.
 */
function pieceSizeFor(files: { size: number }[]): number | null {
  const sizes = files.map((f) => f.size).filter((n) => n > 0);
  if (sizes.length < 2) return null;
  const u = sizes[0];
  const last = sizes[sizes.length - 1];
  return sizes.slice(0, -1).every((n) => n === u) && last > u ? u : null;
}

/** One file as ArrayBuffers: none if empty, one whole, or (for the last file) pieces of `pieceSize`. */
async function readFilePieces(path: string, size: number, pieceSize: number | null): Promise<ArrayBuffer[]> {
  if (size === 0) return [];
  const step = pieceSize !== null && size > pieceSize ? pieceSize : size;
  const out: ArrayBuffer[] = [];
  for (let at = 0; at < size; at += step) out.push(new ArrayBuffer(Math.min(step, size - at)));
  const fh = await fsp.open(path, 'r');
  try {
    let at = 0;
    for (const buf of out) {
      await readInto(fh, path, new Uint8Array(buf), at, size);
      at += buf.byteLength;
    }
  } finally {
    await fh.close();
  }
  return out;
}

/**
 * A tf.io IOHandler for a model directory on the local file system.
 * @param path for saving, the directory to write (created if missing, replaced file by file if it
 *   exists); for loading, a `model.json` file or the directory that holds one
 * @param options optional weight sharding for saving
 */
export function fileSystem(path: string, options?: FileSystemOptions): tf.io.IOHandler {
  return new FileSystemHandler(path, options);
}

/** Maps `file://...` URLs to a {@link fileSystem} handler. */
function fileRouter(url: string | string[]): tf.io.IOHandler {
  if (typeof url === 'string' && url.startsWith(URL_SCHEME)) return fileSystem(url.slice(URL_SCHEME.length));
  return null as unknown as tf.io.IOHandler; // the registry skips routers that answer null
}

let registered = false;

/**
 * Registers `file://` save and load routers with tf.io, each only if no handler answers `file://`
 * yet (so tfjs-node's own handler wins where it is loaded). Safe to call repeatedly.
 * Import tfjs-node before calling this, or both handlers will answer `file://` URLs.
 */
export function registerFileSystemHandler(): void {
  if (registered) return;
  const probe = 'file:///tmp/x';
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(fileRouter);
  if (tf.io.getLoadHandlers(probe).length === 0) tf.io.registerLoadRouter(fileRouter);
  registered = true;
}
