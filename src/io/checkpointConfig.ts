/**
 * Reads a Mamba checkpoint's config.json, in either layout, into MambaLM arguments.
 *   -hf (state-spaces/mamba-*-hf, transformers): hidden_size, num_hidden_layers, state_size, expand, …
 *   original (state-spaces/mamba-*, mamba_ssm): d_model, n_layer, vocab_size, pad_vocab_size_multiple, ssm_cfg, …
 */
import type { MambaLMArgs } from '../layers/mambaLM';

export type CheckpointLayout = 'hf' | 'original';

export interface CheckpointConfig {
  layout: CheckpointLayout;
  args: MambaLMArgs;
}

type Json = Record<string, unknown>;

function num(c: Json, key: string, file: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`${file}: expected "${key}" to be a number, got ${JSON.stringify(c[key])}`);
  }
  return v;
}

function bool(c: Json, key: string, fallback: boolean): boolean {
  const v = c[key];
  return typeof v === 'boolean' ? v : fallback;
}

/** Which layout a parsed config.json is in, or an Error naming what was found. */
export function detectLayout(c: Json, file: string): CheckpointLayout {
  if ('hidden_size' in c && 'num_hidden_layers' in c) return 'hf';
  if ('d_model' in c && 'n_layer' in c) return 'original';
  throw new Error(
    `${file}: unknown checkpoint layout: expected hidden_size + num_hidden_layers (-hf) or d_model + n_layer (original), ` +
      `got keys [${Object.keys(c).join(', ')}]`,
  );
}

/** Parse the text of config.json. */
export function parseCheckpointConfig(text: string, file = 'config.json'): CheckpointConfig {
  let c: Json;
  try {
    c = JSON.parse(text) as Json;
  } catch (e) {
    throw new Error(`${file}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
  if (c == null || typeof c !== 'object' || Array.isArray(c)) throw new Error(`${file}: expected a JSON object`);
  const layout = detectLayout(c, file);
  if (layout === 'hf') {
    if (c.tie_word_embeddings === false) {
      throw new Error(`${file}: expected tie_word_embeddings true (MambaLM ties its head), got false`);
    }
    return {
      layout,
      args: {
        dModel: num(c, 'hidden_size', file),
        nLayers: num(c, 'num_hidden_layers', file),
        dState: num(c, 'state_size', file, 16),
        expandFactor: num(c, 'expand', file, 2),
        dConv: num(c, 'conv_kernel', file, 4),
        dtRank: c.time_step_rank === 'auto' || c.time_step_rank == null ? 'auto' : num(c, 'time_step_rank', file),
        bias: bool(c, 'use_bias', false),
        convBias: bool(c, 'use_conv_bias', true),
        normEps: num(c, 'layer_norm_epsilon', file, 1e-5),
        vocabSize: num(c, 'vocab_size', file),
        // -hf checkpoints store vocab_size already padded; keep their rows as they are.
        padVocabSizeMultiple: num(c, 'pad_vocab_size_multiple', file, 1),
      },
    };
  }
  const ssm = (c.ssm_cfg ?? {}) as Json;
  if (c.rms_norm === false) throw new Error(`${file}: expected rms_norm true, got false (LayerNorm Mamba is not supported)`);
  if (ssm.layer != null && ssm.layer !== 'Mamba1') throw new Error(`${file}: expected ssm_cfg.layer Mamba1, got ${JSON.stringify(ssm.layer)}`);
  return {
    layout,
    args: {
      dModel: num(c, 'd_model', file),
      nLayers: num(c, 'n_layer', file),
      dState: num(ssm, 'd_state', file, 16),
      expandFactor: num(ssm, 'expand', file, 2),
      dConv: num(ssm, 'd_conv', file, 4),
      dtRank: ssm.dt_rank == null || ssm.dt_rank === 'auto' ? 'auto' : num(ssm, 'dt_rank', file),
      bias: bool(ssm, 'bias', false),
      convBias: bool(ssm, 'conv_bias', true),
      normEps: num(c, 'norm_epsilon', file, 1e-5),
      vocabSize: num(c, 'vocab_size', file),
      padVocabSizeMultiple: num(c, 'pad_vocab_size_multiple', file, 8),
    },
  };
}
