/**
 * The weights of a MambaLM — names and tfjs-layout shapes, in the model's own order — computed from its
 * arguments without building it (a mamba-2.8b model would take 11 GB). test/io/topology.test.ts checks
 * this list against a real model's weights so the two cannot drift.
 *
 * Shape letters: V padded vocabulary, D model width, ED inner channels, N state size, R Δ rank, K conv width.
 */
import type { MambaLMArgs } from '../../layers/mambaLM';
import { paddedVocabSize } from '../../layers/mambaLM';
import { resolveMambaConfig } from '../../layers/config';
import type { WeightShape } from './keys';
import { int8WeightShapes, type TypedWeightShape } from '../../layers/int8';

/**
 * Every weight of `createMambaLM(args)`, named as the checkpoint keys, in tfjs layout; with weightDtype 'int8',
 * the quantized weights as stored (int32 words and their `_scale`s, layers/int8.ts).
 */
export function mambaLMWeightShapes(args: MambaLMArgs): TypedWeightShape[] {
  const plan = floatWeightShapes(args);
  return resolveMambaConfig(args).weightDtype === 'int8' ? int8WeightShapes(plan) : plan;
}

/** The float32 model's weights (what a checkpoint holds). */
export function floatWeightShapes(args: MambaLMArgs): WeightShape[] {
  const c = resolveMambaConfig(args);
  const v = paddedVocabSize(args.vocabSize, args.padVocabSizeMultiple ?? 8);
  const { dModel: d, dInner: ed, dState: n, dtRank: r, dConv: k } = c;
  const out: WeightShape[] = [{ name: 'backbone.embeddings.weight', shape: [v, d] }];
  if (args.tieEmbeddings === false) out.push({ name: 'lm_head.weight', shape: [v, d] });
  for (let i = 0; i < c.nLayers; i++) {
    const p = `backbone.layers.${i}.`;
    const m = `${p}mixer.`;
    out.push({ name: `${p}norm.weight`, shape: [d] });
    out.push({ name: `${m}in_proj.weight`, shape: [d, 2 * ed] });
    if (c.bias) out.push({ name: `${m}in_proj.bias`, shape: [2 * ed] });
    out.push({ name: `${m}conv1d.weight`, shape: [k, ed] });
    if (c.convBias) out.push({ name: `${m}conv1d.bias`, shape: [ed] });
    out.push({ name: `${m}x_proj.weight`, shape: [ed, r + 2 * n] });
    out.push({ name: `${m}dt_proj.weight`, shape: [r, ed] });
    out.push({ name: `${m}dt_proj.bias`, shape: [ed] });
    out.push({ name: `${m}A_log`, shape: [ed, n] });
    out.push({ name: `${m}D`, shape: [ed] });
    out.push({ name: `${m}out_proj.weight`, shape: [ed, d] });
    if (c.bias) out.push({ name: `${m}out_proj.bias`, shape: [d] });
  }
  out.push({ name: 'backbone.norm_f.weight', shape: [d] });
  return out;
}
