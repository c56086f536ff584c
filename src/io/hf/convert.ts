/**
 * convertCheckpoint: a Mamba checkpoint directory (-hf safetensors, single or sharded, F32/F16/BF16; or
 * the original pytorch_model.bin) → a tfjs LayersModel directory (model.json + weight shards) that
 * `tf.loadLayersModel('file://<out>/model.json')` loads once mamba-tfjs is imported.
 *
 * Never builds the model: model.json's topology comes from {@link mambaLMTopology}, the weight list
 * from {@link mambaLMWeightShapes}, and tensors stream through one at a time (read, re-laid out,
 * encoded, written). The output directory appears only when complete.
 */
import { promises as fsp } from 'fs';
import { join } from 'path';
import { version_layers } from '@tensorflow/tfjs-layers';
import type * as tf from '@tensorflow/tfjs-core';
import type { MambaLMArgs } from '../../layers/mambaLM';
import { isMamba2Checkpoint, readCheckpointConfig, readMamba2CheckpointConfig } from './loadCheckpoint';
import type { Mamba2LMArgs } from '../../layers/mamba2/mamba2LM';
import { mamba2LMTopology, mamba2LMWeightShapes } from './mamba2Plan';
import type { CheckpointLayout } from './config';
import { openCheckpointTensors } from './source';
import { matchKeys } from './keys';
import { checkPlanAgainst } from './planCheck';
import { mambaLMTopology } from '../tfjs/topology';
import { toOurs } from './layout';
import { float32ToFloat16Bits } from '../safetensors/halfFloat';
import { DEFAULT_SHARD_BYTES, planShards, writeShards } from '../tfjs/shards';
import { checkOutputOutsideInput, writeDirectoryAtomically } from '../outputDir';
import { copyTokenizerFiles } from '../tokenizer/files';
import { int8Stored } from './convertInt8';

/**
 * How weights are stored: float32; float16 (tfjs `quantization: {dtype: 'float16'}`, read back as float32); or
 * int8 (an int8 model, layers/int8.ts: projections, embedding and head as int8 words + row scales, kept int8 when
 * loaded; Mamba-1 and FalconMamba).
 */
export type ConvertDtype = 'float32' | 'float16' | 'int8';

/** Options of {@link convertCheckpoint}. */
export interface ConvertOptions {
  /** Stored weight type (default float32). */
  dtype?: ConvertDtype;
  /** Largest weight shard in bytes (default 512 MiB). */
  shardBytes?: number;
  /** Replace a non-empty existing output directory (default false: an error). */
  overwrite?: boolean;
  /** Called after each weight is written. */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** What {@link convertCheckpoint} wrote. */
export interface ConvertResult {
  /** The output directory (as given). */
  outDir: string;
  /** The checkpoint's layout. */
  layout: CheckpointLayout;
  /** The MambaLM (or, for a Mamba-2 checkpoint, Mamba2LM) arguments read from config.json. */
  args: MambaLMArgs | Mamba2LMArgs;
  /** Stored weight type. */
  dtype: ConvertDtype;
  /** Weight shard file names. */
  shards: string[];
  /** Number of weights written. */
  weights: number;
  /** Total bytes of the weight shards. */
  weightBytes: number;
  /** Tokenizer files copied beside model.json. */
  copied: string[];
}

/** Float32 values in the stored encoding. */
function encode(data: Float32Array, dtype: ConvertDtype, key: string): Uint8Array {
  if (dtype !== 'float16') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // float32 (int8: the weights kept float32)
  const half = float32ToFloat16Bits(data);
  for (let i = 0; i < data.length; i++) {
    if ((half[i] & 0x7fff) === 0x7c00 && Number.isFinite(data[i])) {
      throw new Error(`"${key}": value ${data[i]} at index ${i} overflows float16 (largest 65504); convert with --dtype float32`);
    }
  }
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

/**
 * Convert `checkpointDir` into a tfjs model directory `outDir`.
 * @throws Error naming the file or key: missing config.json, unknown layout, unreadable or inconsistent
 *   tensor files, missing/unexpected keys, shape mismatches, an output directory that cannot be written.
 *   Nothing is left at `outDir` after a failure, and an existing `outDir` is unchanged.
 */
export async function convertCheckpoint(checkpointDir: string, outDir: string, options: ConvertOptions = {}): Promise<ConvertResult> {
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'int8') throw new Error(`convert: expected dtype float32, float16 or int8, got ${JSON.stringify(dtype)}`);
  const mamba2 = isMamba2Checkpoint(checkpointDir);
  if (mamba2 && dtype === 'int8') throw new Error(`convert: ${checkpointDir} is a Mamba-2 checkpoint; --dtype int8 covers Mamba-1 and FalconMamba, got Mamba-2`);
  const { layout, args } = mamba2 ? readMamba2CheckpointConfig(checkpointDir) : readCheckpointConfig(checkpointDir);
  checkOutputOutsideInput(checkpointDir, outDir);
  const source = await openCheckpointTensors(checkpointDir);
  let weights;
  try {
    // Sizes of config.json checked against the files before any is trusted (Mamba-1; Mamba-2 plans directly).
    weights = mamba2 ? mamba2LMWeightShapes(args as Mamba2LMArgs) : checkPlanAgainst(args as MambaLMArgs, source, join(checkpointDir, 'config.json'));
  } catch (e) {
    await source.close();
    throw e;
  }
  const itemBytes = dtype === 'float16' ? 2 : 4;
  const floatSizes = weights.map((w) => w.shape.reduce((a, b) => a * b, 1) * itemBytes);
  try {
    const keys = matchKeys(source, weights);
    const keyOf = (i: number) => keys.get(weights[i].name) as string;
    const plain = async (i: number) => encode(toOurs(weights[i].name, await source.readFloat32(keyOf(i)), source.shape(keyOf(i))).data, dtype, keyOf(i));
    const int8 = dtype === 'int8' ? int8Stored(weights, async (i) => ({ data: await source.readFloat32(keyOf(i)), shape: source.shape(keyOf(i)) }), plain) : null;
    const sizes = int8 ? int8.sizes : floatSizes;
    const shards = planShards(sizes, options.shardBytes ?? DEFAULT_SHARD_BYTES);
    const fromIndex = (j: number) => (int8 ? int8.floatIndex[j] : j);
    const specs: tf.io.WeightsManifestEntry[] = int8
      ? int8.specs.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype ?? 'float32' }))
      : weights.map((w) => ({
        name: w.name,
        shape: w.shape,
        dtype: 'float32',
        ...(dtype === 'float16' ? { quantization: { dtype: 'float16' as const } } : {}),
      }));
    let names: string[] = [];
    let copied: string[] = [];
    await writeDirectoryAtomically(outDir, async (tmp) => {
      names = await writeShards(tmp, shards, sizes, async (j) => {
        const bytes = int8 ? await int8.bytes(j) : await plain(j); // torch layout read, tfjs layout (or int8 rows) written
        options.onProgress?.(j + 1, specs.length, specs[j].name);
        return bytes;
      }, (j) => `"${keyOf(fromIndex(j))}" in ${source.fileOf(keyOf(fromIndex(j)))}`);
      const modelJson: tf.io.ModelJSON = {
        // weightInit 'zeros': loading skips the random initialization, whose values would be overwritten anyway.
        modelTopology: mamba2 ? mamba2LMTopology({ ...(args as Mamba2LMArgs), weightInit: 'zeros' }) : mambaLMTopology({ ...(args as MambaLMArgs), weightInit: 'zeros', ...(int8 ? { weightDtype: 'int8' as const } : {}) }),
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${version_layers}`,
        convertedBy: 'mamba-tfjs convert',
        weightsManifest: [{ paths: names, weights: specs }],
      };
      await fsp.writeFile(join(tmp, 'model.json'), JSON.stringify(modelJson));
      copied = await copyTokenizerFiles(checkpointDir, tmp);
    }, { overwrite: options.overwrite });
    return {
      outDir, layout, args, dtype, shards: names, weights: specs.length,
      weightBytes: sizes.reduce((a, b) => a + b, 0), copied,
    };
  } finally {
    await source.close();
  }
}
