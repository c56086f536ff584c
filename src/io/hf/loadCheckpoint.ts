/**
 * loadCheckpoint: a HuggingFace Mamba checkpoint directory → a tfjs MambaLM model.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createMambaLM, findMambaLM } from '../../layers/factories';
import { parseCheckpointConfig, CheckpointConfig } from './config';
import { openCheckpointTensors } from './source';
import { toOurs } from './layout';
import { checkPlanAgainst } from './planCheck';
import { matchKeys } from './keys';
import type { MambaConfig } from '../../layers/config';
import { checkDirectory, readRegularFileSync, MAX_JSON_BYTES } from '../regularFile';

export { matchKeys } from './keys';

export interface LoadCheckpointOptions {
  /** Scan implementation of the loaded model (default 'auto'). */
  scanMode?: MambaConfig['scanMode'];
}

/** Read and parse `<dir>/config.json`. */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  checkDirectory(dir, 'a checkpoint directory');
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${dir}: expected config.json in the checkpoint directory, found none`);
  return parseCheckpointConfig(readRegularFileSync(file, 'a checkpoint config.json', MAX_JSON_BYTES).toString('utf8'), file);
}

/**
 * Load a checkpoint directory (config.json + model.safetensors, shards with an index, or pytorch_model.bin)
 * into a MambaLM LayersModel. Tensors are read and converted one at a time.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LayersModel> {
  const { args } = readCheckpointConfig(dir);
  const source = await openCheckpointTensors(dir);
  let model: LayersModel | null = null;
  try {
    // Every size of config.json is checked against the files before the model is built (and allocated).
    checkPlanAgainst(args, source, path.join(dir, 'config.json'));
    model = createMambaLM({ ...args, scanMode: options.scanMode ?? 'auto', weightInit: 'zeros' });
    const lm = findMambaLM(model);
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
