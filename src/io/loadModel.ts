/**
 * loadModel: a model directory of either kind → a MambaLM LayersModel.
 *   - a tfjs model directory (model.json + weight shards, from `mamba-tfjs convert` or `model.save`);
 *   - a HuggingFace checkpoint directory (config.json + safetensors or pytorch_model.bin): loadCheckpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tfl from '@tensorflow/tfjs-layers';
import '../layers/factories'; // registers the layer classes for deserialization
import '../layers/mambaLM';
import '../layers/mamba2/factories'; // and the Mamba-2 ones
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from './hf/loadCheckpoint';
import { TfjsWeights } from './tfjs/weights';
import { checkDirectory } from './regularFile';
import { checkTopologyAgainstWeights } from './tfjs/topologyCheck';
import { capList } from './describeValue';

/** Which kind of directory a model was loaded from. */
export type ModelDirKind = 'tfjs' | 'checkpoint';

/** The kind of model directory `dir` is, or an Error naming what was found. */
export function modelDirKind(dir: string): ModelDirKind {
  checkDirectory(dir, 'a model directory (model.json or config.json)');
  if (fs.existsSync(path.join(dir, 'model.json'))) return 'tfjs';
  if (fs.existsSync(path.join(dir, 'config.json'))) return 'checkpoint';
  const found = fs.readdirSync(dir).slice(0, 8).join(', ') || 'nothing';
  throw new Error(`${dir}: expected model.json (a tfjs model) or config.json (a HuggingFace checkpoint), found ${found}`);
}

/**
 * Load a tfjs model directory one weight at a time: the model is built from model.json's topology without
 * weights, then each weight is read from its shard(s) and written into its variable. Peak memory is the model
 * plus one weight, where tf.loadLayersModel holds every shard and every weight at once (about twice the model),
 * so this is the path for multi-GB models (mamba-1.4b, 2.8b).
 */
export async function loadTfjsModelStreaming(dir: string): Promise<tfl.LayersModel> {
  const weights = await TfjsWeights.open(dir);
  let model: tfl.LayersModel;
  try {
    checkTopologyAgainstWeights(weights.modelJson.modelTopology, weights, weights.modelJsonPath); // before building
    model = await tfl.models.modelFromJSON({ modelTopology: weights.modelJson.modelTopology as object } as never);
  } catch (e) {
    await weights.close();
    throw e;
  }
  try {
    const have = new Set(weights.keys());
    const missing = model.weights.map((w) => w.originalName).filter((n) => !have.has(n));
    if (missing.length) throw new Error(`${weights.modelJsonPath}: missing weight${missing.length > 1 ? 's' : ''} ${capList(missing)}`);
    for (const w of model.weights) {
      const shape = weights.shape(w.originalName);
      if (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i])) {
        throw new Error(`${weights.modelJsonPath}: weight "${w.originalName}" has shape [${shape}], the model expects [${w.shape}]`);
      }
      const data = await weights.read(w.originalName); // float32, or int32 words of an int8 model
      if ((data instanceof Int32Array ? 'int32' : 'float32') !== w.dtype) {
        throw new Error(`${weights.modelJsonPath}: weight "${w.originalName}" is stored ${data instanceof Int32Array ? 'int32' : 'float32'}, the model expects ${w.dtype}`);
      }
      tf.tidy(() => {
        w.write(tf.tensor(data, shape, w.dtype));
      });
    }
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    await weights.close();
  }
}

/** Load a tfjs model directory (streaming, see loadTfjsModelStreaming) or a HuggingFace checkpoint directory. */
export async function loadModel(dir: string): Promise<{ model: tfl.LayersModel; kind: ModelDirKind }> {
  const kind = modelDirKind(dir);
  const model = kind === 'tfjs' ? await loadTfjsModelStreaming(dir) : await loadCheckpoint(dir);
  return { model, kind };
}
