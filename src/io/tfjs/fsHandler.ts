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
import { promises as fsp } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { errnoCode, removeEmptyDirs } from '../outputDir';
import { MAX_LOAD_BYTES, specByteLength, pieceSizeFor, readFilePieces, checkSpec } from './loadFiles';
import { resolveInside } from '../safePath';
import { readJsonFileSync } from '../regularFile';
import { capList } from '../describeValue';
import { checkTopologyAgainstWeights, specsAsKeys } from './topologyCheck';
import { MODEL_JSON, weightPieces, shardLayout, writeModelFiles, previousWeightFiles, pathKind } from './saveFiles';

/** Options of {@link fileSystem}. */
export interface FileSystemOptions {
  /**
   * When set, weights are written as `group1-shard{i}of{N}.bin` files of at most this many bytes
   * each (the layout tfjs-converter produces). When unset, one `weights.bin` holds everything.
   */
  shardSizeBytes?: number;
}

const URL_SCHEME = 'file://';

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
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
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
      modelJSON = readJsonFileSync(jsonPath, 'a tfjs model.json') as tf.io.ModelJSON;
    } catch (err) {
      throw new Error(`Cannot load model: ${(err as Error).message}`);
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
      const { specs, data } = await this.loadWeights(modelJSON.weightsManifest, jsonPath, modelJSON.modelTopology);
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
  private async loadWeights(manifest: tf.io.WeightsManifestConfig, jsonPath: string, topology: unknown):
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
        let path: string;
        try {
          path = resolveInside(dir, rel, jsonPath);
        } catch (err) {
          throw new Error(`Cannot load model: ${(err as Error).message}`);
        }
        let size: number;
        try {
          const st = await fsp.stat(path);
          if (!st.isFile()) throw new Error('not a regular file');
          size = st.size;
        } catch {
          throw new Error(`Cannot load model: weight file ${path} (listed in ${jsonPath}) does not exist or is not a regular file`);
        }
        files.push({ path, size });
        groupBytes += size;
      }
      let needed = 0;
      for (const spec of group.weights) {
        try {
          needed += specByteLength(checkSpec(spec, jsonPath, ['float32', 'int32', 'bool'])) as number; // strings refused before any size work
        } catch (err) {
          throw new Error(`Cannot load model: ${(err as Error).message}`);
        }
      }
      if (needed !== groupBytes) {
        throw new Error(`Cannot load model: ${jsonPath}: weight group ${g} files [${capList(group.paths)}] hold ${groupBytes} bytes, ` +
          `but its ${group.weights.length} weight specs need ${needed} bytes (truncated or mismatched shard?)`);
      }
      specs.push(...group.weights);
    }
    if (topology != null) {
      try {
        checkTopologyAgainstWeights(topology, specsAsKeys(specs, jsonPath), jsonPath); // sizes checked before tfjs builds the model
      } catch (err) {
        throw new Error(`Cannot load model: ${(err as Error).message}`);
      }
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
