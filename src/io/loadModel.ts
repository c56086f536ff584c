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
import { fileSystem } from './fsHandler';
import { loadCheckpoint } from './checkpoint';

/** Which kind of directory a model was loaded from. */
export type ModelDirKind = 'tfjs' | 'checkpoint';

/** The kind of model directory `dir` is, or an Error naming what was found. */
export function modelDirKind(dir: string): ModelDirKind {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`expected a model directory, got ${dir} (${fs.existsSync(dir) ? 'not a directory' : 'missing'})`);
  }
  if (fs.existsSync(path.join(dir, 'model.json'))) return 'tfjs';
  if (fs.existsSync(path.join(dir, 'config.json'))) return 'checkpoint';
  const found = fs.readdirSync(dir).slice(0, 8).join(', ') || 'nothing';
  throw new Error(`${dir}: expected model.json (a tfjs model) or config.json (a HuggingFace checkpoint), found ${found}`);
}

/** Load a tfjs model directory or a HuggingFace checkpoint directory. */
export async function loadModel(dir: string): Promise<{ model: tfl.LayersModel; kind: ModelDirKind }> {
  const kind = modelDirKind(dir);
  const model = kind === 'tfjs' ? await tfl.loadLayersModel(fileSystem(path.join(dir, 'model.json'))) : await loadCheckpoint(dir);
  return { model, kind };
}
