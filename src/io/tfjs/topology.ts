/**
 * model.json's `modelTopology` for a MambaLM model, computed from its arguments without building the
 * model: what `createMambaLM(args).toJSON(null, false)` returns (test/io/topology.test.ts checks that
 * they deep-equal), so `convert` can write a loadable model.json for a checkpoint of any size.
 */
import { version_layers } from '@tensorflow/tfjs-layers';
import type { MambaLMArgs } from '../../layers/mambaLM';
import { configForSave, resolveMambaConfig } from '../../layers/config';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** tfjs-layers' camelCase → snake_case for config keys (and string values). */
function toSnakeCase(name: string): string {
  const s = name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return s[0] === '_' ? `private${s}` : s;
}

/** A layer config as tfjs serializes it: keys and string values snake-cased, except `name`. */
function toPythonic(config: Record<string, number | string | boolean>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(config)) {
    out[toSnakeCase(k)] = typeof v === 'string' && k !== 'name' ? toSnakeCase(v) : v;
  }
  return out;
}

/** The MambaLM layer's config as MambaLM.getConfig returns it (camelCase). */
export function mambaLMLayerConfig(args: MambaLMArgs): Record<string, number | string | boolean> {
  const { vocabSize, padVocabSizeMultiple, name } = args;
  return {
    name: name ?? 'mamba_lm',
    trainable: true,
    ...configForSave(resolveMambaConfig(args)),
    vocabSize,
    padVocabSizeMultiple: padVocabSizeMultiple ?? 8,
    ...(args.tieEmbeddings === false ? { tieEmbeddings: false } : {}),
  };
}

/**
 * The modelTopology of `createMambaLM(args)`: a functional model `MambaLMModel` with an int32 input
 * `input_ids` of shape (batch, length) feeding one MambaLM layer.
 */
export function mambaLMTopology(args: MambaLMArgs): { [key: string]: Json } {
  return lmTopology('MambaLM', 'MambaLMModel', mambaLMLayerConfig(args));
}

/**
 * The modelTopology of a functional model `modelName` with an int32 input `input_ids` of shape (batch, length)
 * feeding one language-model layer of class `className` and (camelCase) config `layerConfig`.
 */
export function lmTopology(className: string, modelName: string, layerConfig: Record<string, number | string | boolean>): { [key: string]: Json } {
  const lm = toPythonic(layerConfig);
  const lmName = lm.name as string;
  return {
    class_name: 'Model',
    config: {
      name: modelName,
      layers: [
        {
          name: 'input_ids',
          class_name: 'InputLayer',
          config: { batch_input_shape: [null, null], dtype: 'int32', sparse: false, name: 'input_ids' },
          inbound_nodes: [],
        },
        { name: lmName, class_name: className, config: lm, inbound_nodes: [[['input_ids', 0, 0, {}]]] },
      ],
      input_layers: [['input_ids', 0, 0]],
      output_layers: [[lmName, 0, 0]],
    },
    keras_version: `tfjs-layers ${version_layers}`,
    backend: 'tensor_flow.js',
  };
}
