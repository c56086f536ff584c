/**
 * Reads a Mamba-2 checkpoint's config.json, in either layout, into Mamba2LM arguments.
 *   -hf (transformers Mamba2ForCausalLM): hidden_size, num_hidden_layers, state_size, head_dim, n_groups,
 *     num_heads, chunk_size, time_step_limit, …
 *   original (state-spaces/mamba2-*): d_model, n_layer, vocab_size, pad_vocab_size_multiple, ssm_cfg {layer:
 *     "Mamba2", d_state, headdim, ngroups, chunk_size, …}, tie_embeddings.
 */
import type { Mamba2LMArgs } from '../../layers/mamba2/mamba2LM';
import { resolveMamba2Config } from '../../layers/mamba2/config';
import { describe } from '../describeValue';
import { parseConfigJson } from './configJson';
import { Json, bool, int, isMamba2Config, positive } from './configFields';
import { detectLayout, CheckpointLayout } from './config';

export interface Mamba2CheckpointConfig {
  layout: CheckpointLayout;
  args: Mamba2LMArgs;
}

/** [min, max] of Δ from a time_step_limit / dt_limit pair (absent: [0, ∞)). */
function limits(c: Json, key: string, file: string): { dtLimitMin: number; dtLimitMax: number } {
  const v = c[key];
  if (v == null) return { dtLimitMin: 0, dtLimitMax: Infinity };
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number' || Number.isNaN(x)) || !(v[0] >= 0 && v[1] > v[0])) {
    throw new Error(`${file}: expected "${key}" to be [min, max] with 0 ≤ min < max, got ${describe(v)}`);
  }
  return { dtLimitMin: v[0], dtLimitMax: v[1] };
}

/** Parsed config.json (an object) → Mamba2LM arguments; every field is checked and errors name the file. */
export function mamba2ArgsFromConfig(c: Json, file: string): Mamba2CheckpointConfig {
  if (!isMamba2Config(c)) throw new Error(`${file}: expected a Mamba-2 config (model_type mamba2 or ssm_cfg.layer "Mamba2")`);
  const layout = detectLayout(c, file);
  let args: Mamba2LMArgs;
  if (layout === 'hf') {
    if (c.norm_before_gate === true) throw new Error(`${file}: expected norm_before_gate false (HF's Mamba2 default), got true`);
    args = {
      dModel: int(c, 'hidden_size', file), nLayers: int(c, 'num_hidden_layers', file), dState: int(c, 'state_size', file, 128),
      headDim: int(c, 'head_dim', file, 64), nGroups: int(c, 'n_groups', file, 1), expandFactor: int(c, 'expand', file, 2),
      dConv: int(c, 'conv_kernel', file, 4), chunkSize: int(c, 'chunk_size', file, 256), ...limits(c, 'time_step_limit', file),
      normEps: positive(c, 'layer_norm_epsilon', file, 1e-5), bias: bool(c, 'use_bias', file, false),
      convBias: bool(c, 'use_conv_bias', file, true), vocabSize: int(c, 'vocab_size', file),
      // -hf checkpoints store vocab_size as the embedding's row count.
      padVocabSizeMultiple: 1, tieEmbeddings: bool(c, 'tie_word_embeddings', file, true),
    };
    const heads = (args.expandFactor as number) * args.dModel / (args.headDim as number);
    if (c.num_heads != null && c.num_heads !== heads) {
      throw new Error(`${file}: expected num_heads = expand·hidden_size/head_dim = ${heads}, got ${describe(c.num_heads)}`);
    }
  } else {
    const ssm = c.ssm_cfg as Json;
    const where = `${file} (ssm_cfg)`;
    if (c.d_intermediate != null && c.d_intermediate !== 0) throw new Error(`${file}: expected d_intermediate 0 (no MLP), got ${describe(c.d_intermediate)}`);
    if (Array.isArray(c.attn_layer_idx) && c.attn_layer_idx.length) throw new Error(`${file}: expected no attention layers, got attn_layer_idx ${describe(c.attn_layer_idx)}`);
    if (c.rms_norm === false) throw new Error(`${file}: expected rms_norm true, got false`);
    const nGroups = int(ssm, 'ngroups', where, 1);
    // Porting note: mamba_ssm's Mamba2 normalizes the gated output per group of B and C (HF over all channels):
    // normGroups = ngroups (the same as HF's when ngroups is 1, as in every released checkpoint).
    if (ssm.norm_before_gate === true) throw new Error(`${where}: expected norm_before_gate false, got true`);
    args = {
      dModel: int(c, 'd_model', file), nLayers: int(c, 'n_layer', file), dState: int(ssm, 'd_state', where, 128),
      headDim: int(ssm, 'headdim', where, 64), nGroups, ...(nGroups !== 1 ? { normGroups: nGroups } : {}), expandFactor: int(ssm, 'expand', where, 2), dConv: int(ssm, 'd_conv', where, 4),
      chunkSize: int(ssm, 'chunk_size', where, 256), ...limits(ssm, 'dt_limit', where), normEps: positive(c, 'norm_epsilon', file, 1e-5),
      bias: bool(ssm, 'bias', where, false), convBias: bool(ssm, 'conv_bias', where, true), vocabSize: int(c, 'vocab_size', file),
      padVocabSizeMultiple: int(c, 'pad_vocab_size_multiple', file, 16), tieEmbeddings: bool(c, 'tie_embeddings', file, true),
    };
  }
  try {
    resolveMamba2Config(args);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { layout, args };
}

/** The text of a Mamba-2 config.json → Mamba2LM arguments. */
export function parseMamba2CheckpointConfig(text: string, file = 'config.json'): Mamba2CheckpointConfig {
  let c: unknown;
  try {
    c = parseConfigJson(text);
  } catch (e) {
    throw new Error(`${file}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
  if (c == null || typeof c !== 'object' || Array.isArray(c)) throw new Error(`${file}: expected a JSON object, got ${describe(c)}`);
  return mamba2ArgsFromConfig(c as Json, file);
}
