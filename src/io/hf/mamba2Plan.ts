/**
 * A Mamba2LM without building it: its weights (names as the checkpoint keys, tfjs-layout shapes, in the model's
 * order), its model.json topology, its arguments read back from a topology, and the -hf config.json
 * (Mamba2ForCausalLM) that export-hf writes. test/io/familyMamba2.test.ts pins these to the built model.
 *
 * Shape letters: V padded vocabulary, D model width, ED inner channels, H heads, G groups, N state size,
 * K conv width, CD = ED + 2·G·N.
 */
import type { Mamba2LMArgs } from '../../layers/mamba2/mamba2LM';
import { mamba2ConfigForSave, resolveMamba2Config } from '../../layers/mamba2/config';
import { paddedVocabSize } from '../../layers/mambaLM';
import { lmTopology } from '../tfjs/topology';
import { findLayerConfigs } from '../tfjs/topologyArgs';
import type { WeightShape } from './keys';

/** Every weight of `createMamba2LM(args)`. */
export function mamba2LMWeightShapes(args: Mamba2LMArgs): WeightShape[] {
  const c = resolveMamba2Config(args);
  const v = paddedVocabSize(args.vocabSize, args.padVocabSizeMultiple ?? 16);
  const { dModel: d, dInner: ed, nHeads: h, convDim: cd, dConv: k } = c;
  const proj = 2 * ed + 2 * c.nGroups * c.dState + h;
  const out: WeightShape[] = [{ name: 'backbone.embeddings.weight', shape: [v, d] }];
  if (args.tieEmbeddings === false) out.push({ name: 'lm_head.weight', shape: [v, d] });
  for (let i = 0; i < c.nLayers; i++) {
    const p = `backbone.layers.${i}.`;
    const m = `${p}mixer.`;
    out.push({ name: `${p}norm.weight`, shape: [d] }, { name: `${m}in_proj.weight`, shape: [d, proj] });
    if (c.bias) out.push({ name: `${m}in_proj.bias`, shape: [proj] });
    out.push({ name: `${m}conv1d.weight`, shape: [k, cd] });
    if (c.convBias) out.push({ name: `${m}conv1d.bias`, shape: [cd] });
    out.push({ name: `${m}dt_bias`, shape: [h] }, { name: `${m}A_log`, shape: [h] }, { name: `${m}D`, shape: [h] });
    out.push({ name: `${m}norm.weight`, shape: [ed] }, { name: `${m}out_proj.weight`, shape: [ed, d] });
    if (c.bias) out.push({ name: `${m}out_proj.bias`, shape: [d] });
  }
  out.push({ name: 'backbone.norm_f.weight', shape: [d] });
  return out;
}

/** The modelTopology of `createMamba2LM(args)` (what its toJSON(null, false) returns). */
export function mamba2LMTopology(args: Mamba2LMArgs): ReturnType<typeof lmTopology> {
  const config: Record<string, number | string | boolean> = {
    name: args.name ?? 'mamba2_lm', trainable: true, ...mamba2ConfigForSave(resolveMamba2Config(args)),
    vocabSize: args.vocabSize, padVocabSizeMultiple: args.padVocabSizeMultiple ?? 16,
  };
  if (args.tieEmbeddings === false) config.tieEmbeddings = false;
  return lmTopology('Mamba2LM', 'Mamba2LMModel', config);
}

const NUMBERS: [string, keyof Mamba2LMArgs][] = [
  ['vocab_size', 'vocabSize'], ['pad_vocab_size_multiple', 'padVocabSizeMultiple'], ['d_model', 'dModel'], ['n_layers', 'nLayers'],
  ['d_state', 'dState'], ['head_dim', 'headDim'], ['n_groups', 'nGroups'], ['expand_factor', 'expandFactor'], ['d_conv', 'dConv'],
  ['chunk_size', 'chunkSize'], ['dt_min', 'dtMin'], ['dt_max', 'dtMax'], ['dt_init_floor', 'dtInitFloor'],
  ['dt_limit_min', 'dtLimitMin'], ['dt_limit_max', 'dtLimitMax'], ['norm_eps', 'normEps'], ['norm_groups', 'normGroups'],
];
const BOOLEANS: [string, keyof Mamba2LMArgs][] = [['bias', 'bias'], ['conv_bias', 'convBias'], ['tie_embeddings', 'tieEmbeddings']];

/** The Mamba2LM layer in a modelTopology, if there is one (exactly one), as arguments; null when there is none. */
export function mamba2LMArgsFromTopology(topology: unknown, file: string): Mamba2LMArgs | null {
  const found = findLayerConfigs(topology, [], 'Mamba2LM');
  if (found.length === 0) return null;
  if (found.length > 1) throw new Error(`${file}: expected exactly one Mamba2LM layer in modelTopology, found ${found.length}`);
  const c = found[0];
  const args: Record<string, unknown> = {};
  for (const [list, type] of [[NUMBERS, 'number'], [BOOLEANS, 'boolean']] as const) {
    for (const [key, field] of list) {
      if (c[key] == null) continue;
      if (typeof c[key] !== type) throw new Error(`${file}: Mamba2LM config "${key}" should be a ${type}, got ${JSON.stringify(c[key])}`);
      args[field] = c[key];
    }
  }
  for (const need of ['vocab_size', 'd_model', 'n_layers']) if (c[need] == null) throw new Error(`${file}: Mamba2LM config lacks "${need}"`);
  resolveMamba2Config(args as unknown as Mamba2LMArgs);
  return args as unknown as Mamba2LMArgs;
}

/**
 * The -hf config.json text (Mamba2ForCausalLM) for Mamba2LM arguments. vocab_size is the padded row count. An
 * infinite Δ limit is left out (transformers' default, (0, ∞), which JSON cannot write portably).
 */
export function mamba2HfConfigJson(args: Mamba2LMArgs): string {
  const c = resolveMamba2Config(args);
  if (c.normGroups !== 1) {
    // HF's Mamba2 has no per-group gated norm: the exported model would compute something else.
    throw new Error(`export-hf: expected a Mamba-2 model with normGroups 1 (HF's Mamba2 normalizes over all channels), got normGroups ${c.normGroups} (a state-spaces checkpoint with ngroups ${c.nGroups})`);
  }
  const config: Record<string, unknown> = {
    architectures: ['Mamba2ForCausalLM'], model_type: 'mamba2',
    vocab_size: paddedVocabSize(args.vocabSize, args.padVocabSizeMultiple ?? 16), hidden_size: c.dModel,
    num_hidden_layers: c.nLayers, state_size: c.dState, expand: c.expandFactor, head_dim: c.headDim, num_heads: c.nHeads,
    n_groups: c.nGroups, conv_kernel: c.dConv, chunk_size: c.chunkSize, use_bias: c.bias, use_conv_bias: c.convBias,
    layer_norm_epsilon: c.normEps, hidden_act: 'silu', rms_norm: true, norm_before_gate: false, residual_in_fp32: true,
    time_step_min: c.dtMin, time_step_max: c.dtMax, time_step_floor: c.dtInitFloor,
    ...(Number.isFinite(c.dtLimitMax) ? { time_step_limit: [c.dtLimitMin, c.dtLimitMax] } : {}),
    tie_word_embeddings: args.tieEmbeddings !== false, use_cache: true, bos_token_id: 0, eos_token_id: 0, pad_token_id: 0,
    torch_dtype: 'float32',
  };
  const text = JSON.stringify(config, null, 2);
  // transformers 5 refuses a JSON integer in a float field (`1` for `1.0`).
  const floats = ['layer_norm_epsilon', 'time_step_min', 'time_step_max', 'time_step_floor'].join('|');
  return text.replace(new RegExp(`^(\\s*"(?:${floats})": )(-?\\d+)(,?)$`, 'gm'), '$1$2.0$3') + '\n';
}
