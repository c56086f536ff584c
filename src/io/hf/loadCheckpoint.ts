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
import { matchKeys } from './keys';
import type { MambaConfig } from '../../layers/config';

export { matchKeys } from './keys';

export interface LoadCheckpointOptions {
  /**
   * Scan implementation of the loaded model (default 'auto'). Mamba-2 models take 'sequential' and 'chunked'
   * (others: 'auto', the chunked SSD); Mamba models take 'chunked' as 'auto'.
   */
  scanMode?: MambaConfig['scanMode'] | 'chunked';
}

/** Whether `<dir>/config.json` describes a Mamba-2 model (checked before reading it as Mamba). */
export function isMamba2Checkpoint(dir: string): boolean {
  const file = path.join(readableDir(dir), 'config.json');
  try {
    const c = parseConfigJson(fs.readFileSync(file, 'utf8'));
    return c != null && typeof c === 'object' && !Array.isArray(c) && isMamba2Config(c as Record<string, unknown>);
  } catch {
    return false; // the full reader names the problem
  }
}

/** Read and parse a Mamba-2 `<dir>/config.json`. */
export function readMamba2CheckpointConfig(dir: string): Mamba2CheckpointConfig {
  const file = path.join(readableDir(dir), 'config.json');
  return parseMamba2CheckpointConfig(fs.readFileSync(file, 'utf8'), file);
}

/** `dir`, once it is a directory holding config.json; else an Error naming what is wrong. */
function readableDir(dir: string): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`expected a checkpoint directory, got ${dir} (${fs.existsSync(dir) ? 'not a directory' : 'missing'})`);
  }
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`${dir}: expected config.json in the checkpoint directory, found none`);
  return dir;
}

/** Read and parse `<dir>/config.json`. */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  const file = path.join(readableDir(dir), 'config.json');
  return parseCheckpointConfig(fs.readFileSync(file, 'utf8'), file);
}

/**
 * Load a checkpoint directory (config.json + model.safetensors, shards with an index, or pytorch_model.bin)
 * into a MambaLM LayersModel. Tensors are read and converted one at a time.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LayersModel> {
  const build = (): { model: LayersModel; lm: { weights: LayerVariable[] } } => {
    if (isMamba2Checkpoint(dir)) {
      const { args } = readMamba2CheckpointConfig(dir);
      const mode = options.scanMode === 'sequential' ? 'sequential' : options.scanMode === 'chunked' ? 'chunked' : 'auto';
      const m = createMamba2LM({ ...args, scanMode: mode, weightInit: 'zeros' });
      return { model: m, lm: findMamba2LM(m) };
    }
    const { args } = readCheckpointConfig(dir);
    const scanMode = options.scanMode === 'chunked' ? 'auto' : options.scanMode ?? 'auto';
    const m = createMambaLM({ ...args, scanMode, weightInit: 'zeros' });
    return { model: m, lm: findMambaLM(m) };
  };
  const { model, lm } = build();
  let source: TensorSource | null = null;
  try {
    source = await openCheckpointTensors(dir);
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
    model.dispose();
    throw e;
  } finally {
    await source?.close();
  }
}
