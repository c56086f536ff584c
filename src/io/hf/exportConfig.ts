/**
 * config.json in the HuggingFace transformers layout (`MambaForCausalLM`, as in state-spaces/mamba-*-hf, or
 * `FalconMambaForCausalLM` for a model with bcdtNorm) for MambaLM arguments: what `export-hf` writes.
 */
import type { MambaLMArgs } from '../../layers/mambaLM';
import { paddedVocabSize } from '../../layers/mambaLM';
import { resolveMambaConfig } from '../../layers/config';

/**
 * The -hf config.json object. `vocab_size` is the padded row count of the embedding (as in the -hf
 * checkpoints); tie_word_embeddings follows tieEmbeddings. Token ids are those of the GPT-NeoX tokenizer the
 * state-spaces models use (bos = eos = pad = 0, transformers' defaults).
 */
export function hfConfigFor(args: MambaLMArgs): Record<string, unknown> {
  const c = resolveMambaConfig(args);
  const falcon = c.bcdtNorm;
  return {
    architectures: [falcon ? 'FalconMambaForCausalLM' : 'MambaForCausalLM'],
    model_type: falcon ? 'falcon_mamba' : 'mamba',
    ...(falcon ? { mixer_rms_eps: c.bcdtNormEps } : {}),
    vocab_size: paddedVocabSize(args.vocabSize, args.padVocabSizeMultiple ?? 8),
    hidden_size: c.dModel,
    num_hidden_layers: c.nLayers,
    state_size: c.dState,
    expand: c.expandFactor,
    intermediate_size: c.dInner,
    conv_kernel: c.dConv,
    time_step_rank: c.dtRank,
    use_bias: c.bias,
    use_conv_bias: c.convBias,
    layer_norm_epsilon: c.normEps,
    hidden_act: 'silu',
    residual_in_fp32: true,
    rescale_prenorm_residual: false,
    initializer_range: 0.1,
    time_step_init_scheme: c.dtInit,
    time_step_scale: c.dtScale,
    time_step_min: c.dtMin,
    time_step_max: c.dtMax,
    time_step_floor: c.dtInitFloor,
    tie_word_embeddings: args.tieEmbeddings !== false,
    use_cache: true,
    bos_token_id: 0,
    eos_token_id: 0,
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
}

/** Fields transformers declares as float: its config class rejects a JSON integer there (`1` for `1.0`). */
export const HF_FLOAT_FIELDS = ['layer_norm_epsilon', 'mixer_rms_eps', 'initializer_range', 'time_step_scale', 'time_step_min', 'time_step_max', 'time_step_floor'];

/**
 * config.json text for MambaLM arguments: hfConfigFor's object, with the float fields always written as floats
 * (JSON.stringify writes 1.0 as `1`, which transformers 5's strict config validation refuses).
 */
export function hfConfigJson(args: MambaLMArgs): string {
  const text = JSON.stringify(hfConfigFor(args), null, 2);
  const fields = HF_FLOAT_FIELDS.join('|');
  return text.replace(new RegExp(`^(\\s*"(?:${fields})": )(-?\\d+)(,?)$`, 'gm'), '$1$2.0$3') + '\n';
}
