/**
 * generate: autoregressive decoding with the recurrent cache. The prompt runs once through the parallel
 * forward (MambaLM.prefill, which also leaves the cache), then each new token costs one MambaLM.step.
 *
 * Shape letters: B batch (prompts), L prompt length, V padded vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { LMBase } from '../layers/lmBase';
import type { MambaLM } from '../layers/mambaLM';
import type { Mamba2LM } from '../layers/mamba2/mamba2LM';
import { Rng } from '../tasks/rng';
import { argmax, checkSamplingOptions, sampleToken, SamplingOptions } from './sampling';
import { DecodingLM, fusedSource, tfjsSource } from './stepSource';
import { usesFusedDecode } from './fusedDecode';



/** The MambaLM or Mamba2LM layer of a model. */
function findLM(model: LayersModel): DecodingLM {
  const lm = model.layers.find((l) => l instanceof LMBase);
  if (!lm) throw new Error(`generate: expected a model containing a MambaLM or Mamba2LM layer, got layers [${model.layers.map((l) => l.getClassName())}]`);
  return lm as unknown as DecodingLM;
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** How many tokens to add to each prompt at most. */
  maxNewTokens: number;
  /** Divides the logits before sampling (default 1); 0 or 'greedy' decodes greedily (argmax). */
  temperature?: number | 'greedy';
  /** Sample among the k most likely tokens only. */
  topK?: number;
  /** Sample among the most likely tokens whose probabilities add up to p (nucleus sampling). */
  topP?: number;
  /** Seed of the sampling PRNG (default: a random one). Equal seeds give equal samples. */
  seed?: number;
  /** A row stops after producing one of these ids (e.g. the tokenizer's end-of-text). */
  stopTokens?: number[];
  /** What a stopped row emits and is padded with (default: the first stop token, else 0; as HF's pad = eos). */
  padTokenId?: number;
  /** Called after every step with the new token of each row (padTokenId for rows that have stopped). */
  onToken?: (tokens: number[], step: number) => void | Promise<void>;
  /** Also return the logits that chose each token (default false). */
  returnScores?: boolean;
  /**
   * (B, L) 1 for prompt tokens, 0 for padding (HF's attention_mask): masked positions leave no trace in the
   * state. Not needed for prompts of different lengths: those are left-padded and masked automatically.
   */
  attentionMask?: number[][] | tf.Tensor2D;
}

/** What {@link generate} returns. */
export interface GenerateResult {
  /**
   * Each prompt followed by its new tokens; rows that stopped early are padded with padTokenId (at the end),
   * and prompts shorter than the longest are left-padded with it (as HF returns them).
   */
  sequences: number[][];
  /**
   * With returnScores: per step, the model's logits (B·V, row-major: row b at [b·V, (b+1)·V)) from which that
   * step's tokens were chosen, before temperature/top-k/top-p (HF's `output_logits`; for greedy decoding
   * they equal HF's `scores`).
   */
  scores?: Float32Array[];
  /** Per row: whether it produced a stop token. */
  stopped: boolean[];
}

/** A (B, L) input as rows of numbers. */
function toRows(x: number[][] | tf.Tensor2D, what: string): number[][] {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw new Error(`generate: expected ${what} of shape (batch, length), got [${x.shape}]`);
    return x.arraySync() as number[][];
  }
  if (!Array.isArray(x) || x.length === 0 || !x.every(Array.isArray)) {
    throw new Error(`generate: expected ${what} as a non-empty number[][] (one row per prompt) or a tf.Tensor2D`);
  }
  return x.map((r) => [...r]);
}

/**
 * The prompts as equally long rows of ids, and the mask (1 token, 0 padding) or null when nothing is masked.
 * Prompts of different lengths are left-padded with `pad` and masked there.
 */
function promptBatch(
  prompt: number[][] | tf.Tensor2D, mask: number[][] | tf.Tensor2D | undefined, pad: number, vocab: number,
): { rows: number[][]; mask: number[][] | null } {
  const rows = toRows(prompt, 'prompt ids');
  rows.forEach((r, i) => {
    if (r.length === 0) throw new Error(`generate: expected prompts of at least one token, got an empty prompt at row ${i}`);
    r.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new Error(`generate: expected token ids in [0, ${vocab}), got ${id} at row ${i}, position ${t}`);
      }
    });
  });
  const l = Math.max(...rows.map((r) => r.length));
  if (mask != null) {
    const m = toRows(mask, 'attentionMask');
    if (m.length !== rows.length || m.some((r, i) => r.length !== rows[i].length)) {
      throw new Error(`generate: expected an attentionMask shaped like the prompts [${rows.map((r) => r.length)}], got [${m.map((r) => r.length)}]`);
    }
    if (m.some((r) => r.some((v) => v !== 0 && v !== 1))) throw new Error('generate: expected an attentionMask of 0s and 1s');
    if (rows.some((r) => r.length !== l)) throw new Error('generate: expected prompts of equal length when an attentionMask is given');
    return { rows, mask: m.every((r) => r.every((v) => v === 1)) ? null : m };
  }
  if (rows.every((r) => r.length === l)) return { rows, mask: null };
  // Porting note: HF left-pads a batch and passes an attention mask; so do we, and the masked mixers keep
  // padding out of the state, so each row continues exactly as it would alone.
  return {
    rows: rows.map((r) => [...new Array<number>(l - r.length).fill(pad), ...r]),
    mask: rows.map((r) => [...new Array<number>(l - r.length).fill(0), ...new Array<number>(r.length).fill(1)]),
  };
}

/** The decoding rule: greedy, or sampling options. */
function decodingRule(o: GenerateOptions, lm: DecodingLM): SamplingOptions | 'greedy' {
  const t = o.temperature ?? 1;
  if (t === 'greedy' || t === 0) return 'greedy';
  const rule = { temperature: t, topK: o.topK, topP: o.topP, limit: lm.vocabSize };
  checkSamplingOptions(rule);
  return rule;
}

/**
 * Continue each prompt by up to maxNewTokens tokens.
 *
 * @param model a MambaLM or Mamba2LM layer, or a LayersModel holding one (createMambaLM, createMamba2LM,
 *   loadCheckpoint, loadLayersModel)
 * @param prompt ids, one row per prompt (rows of different lengths are left-padded and masked)
 * @returns the sequences (prompt + new tokens), and the scores when asked for
 */
export async function generate(
  model: LayersModel | MambaLM | Mamba2LM, prompt: number[][] | tf.Tensor2D, options: GenerateOptions,
): Promise<GenerateResult> {
  const lm = model instanceof LMBase ? (model as unknown as DecodingLM) : findLM(model);
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
    throw new Error(`generate: expected maxNewTokens to be a non-negative integer, got ${maxNewTokens}`);
  }
  const rule = decodingRule(options, lm);
  const stops = new Set(options.stopTokens ?? []);
  const pad = options.padTokenId ?? options.stopTokens?.[0] ?? 0;
  if (!Number.isInteger(pad) || pad < 0 || pad >= lm.paddedVocab) {
    throw new Error(`generate: expected padTokenId in [0, ${lm.paddedVocab}), got ${pad}`);
  }
  const { rows, mask } = promptBatch(prompt, options.attentionMask, pad, lm.paddedVocab);
  const rng = new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const [b, v] = [rows.length, lm.paddedVocab];
  const sequences = rows.map((r) => [...r]);
  const stopped = rows.map(() => false);
  const scores: Float32Array[] | undefined = options.returnScores ? [] : undefined;
  if (maxNewTokens === 0) return { sequences, scores, stopped };

  const greedy = rule === 'greedy' && !scores;
  const source = usesFusedDecode(lm, b) ? fusedSource(lm, rows, mask, greedy) : tfjsSource(lm, rows, mask, maxNewTokens);
  try {
    let ids: Int32Array | null = null; // greedy ids chosen on the GPU (fused path), else null
    let values: Float32Array | null = await source.first(); // (B·V)
    for (let step = 0; step < maxNewTokens; step++) {
      if (values && scores) scores.push(Float32Array.from(values));
      const tokens = rows.map((_, i) => {
        if (stopped[i]) return pad;
        if (ids) return ids[i];
        const logits = values as Float32Array;
        return rule === 'greedy' ? argmax(logits, i * v, v) : sampleToken(logits, rule, rng, i * v);
      });
      tokens.forEach((id, i) => {
        sequences[i].push(id);
        if (!stopped[i] && stops.has(id)) stopped[i] = true;
      });
      if (options.onToken) await options.onToken(tokens, step);
      if (step === maxNewTokens - 1 || stopped.every(Boolean)) break;
      const next = await source.next(tokens, ids != null && tokens.every((t, i) => t === (ids as Int32Array)[i]));
      values = next.logits;
      ids = next.ids;
    }
  } finally {
    source.dispose();
  }
  return { sequences, scores, stopped };
}
