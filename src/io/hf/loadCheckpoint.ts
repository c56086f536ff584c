/**
 * loadCheckpoint: a Mamba, FalconMamba or Mamba-2 checkpoint directory → a tfjs MambaLM / Mamba2LM model.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { createMambaLM, findMambaLM } from '../../layers/factories';
import { parseCheckpointConfig, CheckpointConfig } from './config';
import { openCheckpointTensors, TensorSource } from './source';
import { parseConfigJson } from './configJson';
import { isMamba2Config } from './configFields';
import { Mamba2CheckpointConfig, parseMamba2CheckpointConfig } from './mamba2Config';
import { createMamba2LM, findMamba2LM } from '../../layers/mamba2/factories';
import { toOurs } from './layout';
import { checkPlanAgainst } from './planCheck';
import { matchKeys } from './keys';
import type { MambaConfig } from '../../layers/config';
import type { MambaLMArgs } from '../../layers/mambaLM';
import { checkDirectory, readRegularFileSync, MAX_JSON_BYTES } from '../regularFile';

export { matchKeys } from './keys';

export interface LoadCheckpointOptions {
  /**
   * Scan implementation of the loaded model (default 'auto'). Mamba-2 models take 'sequential' and 'chunked'
   * (others: 'auto', the chunked SSD); Mamba models take 'chunked' as 'auto'.
   */
  scanMode?: MambaConfig['scanMode'] | 'chunked';
}

/** The text of `<dir>/config.json` (a regular file, size-capped) and its path. */
function configText(dir: string): { file: string; text: string } {
  const file = path.join(readableDir(dir), 'config.json');
  return { file, text: readRegularFileSync(file, 'a checkpoint config.json', MAX_JSON_BYTES).toString('utf8') };
}

/** Whether `<dir>/config.json` describes a Mamba-2 model (checked before reading it as Mamba). */
export function isMamba2Checkpoint(dir: string): boolean {
  try {
    const c = parseConfigJson(configText(dir).text);
    return c != null && typeof c === 'object' && !Array.isArray(c) && isMamba2Config(c as Record<string, unknown>);
  } catch {
    return false; // the full reader names the problem
  }
}

/** Read and parse a Mamba-2 `<dir>/config.json`. */
export function readMamba2CheckpointConfig(dir: string): Mamba2CheckpointConfig {
  const { file, text } = configText(dir);
  return parseMamba2CheckpointConfig(text, file);
}

/** `dir`, once it is a directory holding config.json; else an Error naming what is wrong. */
function readableDir(dir: string): string {
  checkDirectory(dir, 'a checkpoint directory');
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`${dir}: expected config.json in the checkpoint directory, found none`);
  return dir;
}

/** Read and parse `<dir>/config.json`. */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  const { file, text } = configText(dir);
  return parseCheckpointConfig(text, file);
}

/**
 * Load a checkpoint directory (config.json + model.safetensors, shards with an index, or pytorch_model.bin)
 * into a MambaLM LayersModel. Tensors are read and converted one at a time.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LayersModel> {
  const mamba2 = isMamba2Checkpoint(dir) ? readMamba2CheckpointConfig(dir).args : null;
  const mamba1 = mamba2 ? null : readCheckpointConfig(dir).args;
  const source: TensorSource = await openCheckpointTensors(dir);
  let model: LayersModel | null = null;
  try {
    let lm: { weights: LayerVariable[] };
    if (mamba2) {
      const mode = options.scanMode === 'sequential' || options.scanMode === 'chunked' || options.scanMode === 'fused' ? options.scanMode : 'auto';
      model = createMamba2LM({ ...mamba2, scanMode: mode, weightInit: 'zeros' });
      lm = findMamba2LM(model);
    } else {
      const args = mamba1 as MambaLMArgs;
      // Every size of config.json is checked against the files before the model is built (and allocated).
      checkPlanAgainst(args, source, path.join(dir, 'config.json'));
      const scanMode = options.scanMode === 'chunked' ? 'auto' : options.scanMode ?? 'auto';
      model = createMambaLM({ ...args, scanMode, weightInit: 'zeros' });
      lm = findMambaLM(model);
    }
    const weights = lm.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], variable: w }));
    const keys = matchKeys(source, weights);
    for (const w of weights) {
      const key = keys.get(w.name) as string;
      const raw = await source.readFloat32(key);
      const { data, shape } = toOurs(w.name, raw, source.shape(key));
      tf.tidy(() => {
        w.variable.write(tf.tensor(data, shape, 'float32'));
      });
    }
    return model;
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    await source.close();
  }
}
