/**
 * A model.json's topology checked against its weight specs before tfjs builds the model: a MambaLM topology
 * claiming 2^24 layers or d_model 8192 over a few kilobytes of weights fails here, in one line, instead of
 * allocating gigabytes (or dying of out-of-memory) in the layer constructors.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { mambaLMArgsFromTopology, countMambaLMLayers } from './topologyArgs';
import { checkPlanAgainst } from '../hf/planCheck';
import type { KeyedShapes } from '../hf/keys';

/** Throws naming `file` unless `topology` is an object; for a MambaLM topology, checks every weight's name and shape. */
export function checkTopologyAgainstWeights(topology: unknown, weights: KeyedShapes, file: string): void {
  if (topology === null || typeof topology !== 'object' || Array.isArray(topology)) {
    throw new Error(`${file}: expected a "modelTopology" object (a tfjs layers model), got ${topology === undefined ? 'none' : typeof topology}`);
  }
  if (countMambaLMLayers(topology) !== 1) return; // not a MambaLM: tfjs checks the weights it builds
  const args = mambaLMArgsFromTopology(topology, file);
  try {
    checkPlanAgainst(args, weights, file, (_name, shape) => shape); // model.json stores the tfjs layout
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(file) ? msg : `${file}: ${msg}`);
  }
}

/** Weight specs (name and shape) as the key source of {@link checkTopologyAgainstWeights}. */
export function specsAsKeys(specs: tf.io.WeightsManifestEntry[], file: string): KeyedShapes {
  const byName = new Map(specs.filter((s) => s.group !== 'optimizer').map((s) => [s.name, s.shape]));
  return { keys: () => [...byName.keys()], shape: (k) => byName.get(k) ?? [], fileOf: () => file };
}
