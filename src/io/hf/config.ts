/**
 * Reads a Mamba checkpoint's config.json, in either layout, into MambaLM arguments.
 *   -hf (state-spaces/mamba-*-hf, transformers): hidden_size, num_hidden_layers, state_size, expand, …
 *   original (state-spaces/mamba-*, mamba_ssm): d_model, n_layer, vocab_size, pad_vocab_size_multiple, ssm_cfg, …
 * model_type falcon_mamba (FalconMamba) is the Mamba block with bcdtNorm. Infinite floats may be written
 * `{"__float__": "Infinity"}` (transformers 5) or as a bare `Infinity` (configJson.ts).
 */
import type { MambaLMArgs } from '../../layers/mambaLM';
import { describe } from '../describeValue';
import { parseConfigJson } from './configJson';
import { Json, bool, int, isMamba2Config, positive } from './configFields';

export type CheckpointLayout = 'hf' | 'original';

export interface CheckpointConfig {
  layout: CheckpointLayout;
  args: MambaLMArgs;
}

export { MAX_CONFIG_INT } from './configFields';

/** Δ's initialisation scheme: "random" or "constant". */
function dtInit(c: Json, key: string, file: string): 'random' | 'constant' {
  const v = c[key] ?? 'random';
  if (v !== 'random' && v !== 'constant') throw new Error(`${file}: expected "${key}" to be "random" or "constant", got ${describe(c[key])}`);
  return v;
}

/** Δ rank: "auto" (or absent) or a positive integer. */
function rank(c: Json, key: string, file: string): number | 'auto' {
  return c[key] == null || c[key] === 'auto' ? 'auto' : int(c, key, file);
}

/** Which layout a parsed config.json is in, or an Error naming what was found. */
export function detectLayout(c: Json, file: string): CheckpointLayout {
  if ('hidden_size' in c && 'num_hidden_layers' in c) return 'hf';
  if ('d_model' in c && 'n_layer' in c) return 'original';
  const keys = Object.keys(c);
  throw new Error(
    `${file}: unknown checkpoint layout: expected hidden_size + num_hidden_layers (-hf) or d_model + n_layer (original), ` +
      `got keys [${keys.slice(0, 20).join(', ')}${keys.length > 20 ? `, ... (${keys.length} in all)` : ''}]`,
  );
}

/** Parse the text of config.json; every field is checked (type and range) and errors name the file. */
export function parseCheckpointConfig(text: string, file = 'config.json'): CheckpointConfig {
  let c: Json;
  try {
    c = parseConfigJson(text) as Json;
  } catch (e) {
    throw new Error(`${file}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
  if (c == null || typeof c !== 'object' || Array.isArray(c)) throw new Error(`${file}: expected a JSON object, got ${describe(c)}`);
  const layout = detectLayout(c, file);
  if (isMamba2Config(c)) {
    throw new Error(`${file}: a Mamba-2 checkpoint; expected Mamba or FalconMamba here (loadCheckpoint and generate read Mamba-2)`);
  }
  if (layout === 'hf') {
    const modelType = c.model_type ?? 'mamba';
    if (modelType !== 'mamba' && modelType !== 'falcon_mamba') {
      throw new Error(`${file}: expected model_type mamba or falcon_mamba, got ${describe(modelType)}`);
    }
    // FalconMamba: the Mamba mixer with weightless RMS norms on Δ, B and C after x_proj.
    const falcon = modelType === 'falcon_mamba' ? { bcdtNorm: true, bcdtNormEps: positive(c, 'mixer_rms_eps', file, 1e-6) } : {};
    return {
      layout,
      args: {
        dModel: int(c, 'hidden_size', file),
        nLayers: int(c, 'num_hidden_layers', file),
        dState: int(c, 'state_size', file, 16),
        expandFactor: int(c, 'expand', file, 2),
        dConv: int(c, 'conv_kernel', file, 4),
        dtRank: rank(c, 'time_step_rank', file),
        bias: bool(c, 'use_bias', file, false),
        convBias: bool(c, 'use_conv_bias', file, true),
        normEps: positive(c, 'layer_norm_epsilon', file, 1e-5),
        // Δ's initialisation (no effect on loaded weights; kept so that export-hf writes them back).
        dtMin: positive(c, 'time_step_min', file, 0.001),
        dtMax: positive(c, 'time_step_max', file, 0.1),
        dtInit: dtInit(c, 'time_step_init_scheme', file),
        dtScale: positive(c, 'time_step_scale', file, 1),
        dtInitFloor: positive(c, 'time_step_floor', file, 1e-4),
        vocabSize: int(c, 'vocab_size', file),
        // -hf checkpoints store vocab_size already padded; keep their rows as they are.
        padVocabSizeMultiple: int(c, 'pad_vocab_size_multiple', file, 1),
        tieEmbeddings: bool(c, 'tie_word_embeddings', file, true),
        ...falcon,
      },
    };
  }
  const rawSsm = c.ssm_cfg ?? {};
  if (typeof rawSsm !== 'object' || Array.isArray(rawSsm)) throw new Error(`${file}: expected "ssm_cfg" to be an object, got ${describe(rawSsm)}`);
  const ssm = rawSsm as Json;
  const where = `${file} (ssm_cfg)`;
  if (c.rms_norm === false) throw new Error(`${file}: expected rms_norm true, got false (LayerNorm Mamba is not supported)`);
  if (ssm.layer != null && ssm.layer !== 'Mamba1') throw new Error(`${file}: expected ssm_cfg.layer Mamba1, got ${describe(ssm.layer)}`);
  return {
    layout,
    args: {
      dModel: int(c, 'd_model', file),
      nLayers: int(c, 'n_layer', file),
      dState: int(ssm, 'd_state', where, 16),
      expandFactor: int(ssm, 'expand', where, 2),
      dConv: int(ssm, 'd_conv', where, 4),
      dtRank: rank(ssm, 'dt_rank', where),
      bias: bool(ssm, 'bias', where, false),
      convBias: bool(ssm, 'conv_bias', where, true),
      normEps: positive(c, 'norm_epsilon', file, 1e-5),
      vocabSize: int(c, 'vocab_size', file),
      padVocabSizeMultiple: int(c, 'pad_vocab_size_multiple', file, 8),
      tieEmbeddings: bool(c, 'tie_embeddings', file, true),
    },
  };
}
