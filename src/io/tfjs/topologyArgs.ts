/**
 * The MambaLM arguments recorded in a tfjs model.json: finds the (single) MambaLM layer anywhere in the
 * modelTopology (functional or sequential, nested or not) and reads its snake_case config back.
 */
import type { MambaLMArgs } from '../../layers/mambaLM';
import { resolveMambaConfig } from '../../layers/config';
import { describe } from '../describeValue';

type Json = Record<string, unknown>;

/** Every `{class_name: className, config}` object inside `node` (iterative: safe on any nesting depth). */
export function findLayerConfigs(node: unknown, out: Json[], className = 'MambaLM'): Json[] {
  const todo: unknown[] = [node];
  while (todo.length > 0) {
    const item = todo.pop();
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) todo.push(item[i]);
    } else if (item !== null && typeof item === 'object') {
      const obj = item as Json;
      if (obj.class_name === className && obj.config !== null && typeof obj.config === 'object') out.push(obj.config as Json);
      todo.push(...Object.values(obj).reverse());
    }
  }
  return out;
}

/** How many MambaLM layers a modelTopology holds. */
export function countMambaLMLayers(topology: unknown): number {
  return findLayerConfigs(topology, []).length;
}

/** Fields of the saved config → MambaLMArgs fields. */
const FIELDS: [string, keyof MambaLMArgs, 'number' | 'string' | 'boolean'][] = [
  ['vocab_size', 'vocabSize', 'number'], ['pad_vocab_size_multiple', 'padVocabSizeMultiple', 'number'],
  ['d_model', 'dModel', 'number'], ['n_layers', 'nLayers', 'number'], ['dt_rank', 'dtRank', 'number'],
  ['d_state', 'dState', 'number'], ['expand_factor', 'expandFactor', 'number'], ['d_conv', 'dConv', 'number'],
  ['dt_min', 'dtMin', 'number'], ['dt_max', 'dtMax', 'number'], ['dt_init', 'dtInit', 'string'],
  ['dt_scale', 'dtScale', 'number'], ['dt_init_floor', 'dtInitFloor', 'number'], ['norm_eps', 'normEps', 'number'],
  ['bias', 'bias', 'boolean'], ['conv_bias', 'convBias', 'boolean'], ['tie_embeddings', 'tieEmbeddings', 'boolean'],
  ['bcdt_norm', 'bcdtNorm', 'boolean'], ['bcdt_norm_eps', 'bcdtNormEps', 'number'],
  ['weight_dtype', 'weightDtype', 'string'],
];

/**
 * The MambaLM layer's arguments from a model.json's modelTopology.
 * @throws Error naming `file` when there is no MambaLM layer, more than one, or a field of the wrong type
 */
export function mambaLMArgsFromTopology(topology: unknown, file: string): MambaLMArgs {
  const found = findLayerConfigs(topology, []);
  if (found.length !== 1) {
    throw new Error(`${file}: expected exactly one MambaLM layer in modelTopology, found ${found.length}`);
  }
  const c = found[0];
  const args: Record<string, unknown> = {};
  for (const [key, field, type] of FIELDS) {
    const v = c[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== type) throw new Error(`${file}: MambaLM config "${key}" should be a ${type}, got ${describe(v)}`);
    args[field] = v;
  }
  for (const need of ['vocab_size', 'd_model', 'n_layers']) {
    if (c[need] == null) throw new Error(`${file}: MambaLM config lacks "${need}"`);
  }
  const out = args as unknown as MambaLMArgs;
  try {
    resolveMambaConfig(out); // checks every field
  } catch (e) {
    throw new Error(`${file}: MambaLM config: ${(e as Error).message.replace(/^Mamba config: /, '')}`);
  }
  return out;
}
