/**
 * Where {@link generate}'s logits come from, step by step: the tfjs path (MambaLM.step / Mamba2LM.step, logits
 * read back each step) or the fused webgpu decoder (./fusedDecode.ts), which for greedy decoding reads back only
 * the chosen ids. Both start from the prompt's parallel forward (prefillLast), which also yields the cache.
 *
 * Shape letters: B batch, L prompt length, V padded vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedDecoder } from './fusedDecode';
import type { MambaLM } from '../layers/mambaLM';

/** A per-layer recurrent cache (Mamba: ssm (B, ED, N); Mamba-2: ssm (B, H, P, N)). */
export type Cache = { conv: tf.Tensor; ssm: tf.Tensor }[];

/** What decoding needs of a language model: MambaLM and Mamba2LM both have it. */
export interface DecodingLM {
  vocabSize: number;
  paddedVocab: number;
  decodeHeadKernel(): tf.Tensor2D | null;
  prefillLast(ids: tf.Tensor, mask?: tf.Tensor, headKernel?: tf.Tensor | null): { logits: tf.Tensor2D; cache: Cache };
  step(ids: tf.Tensor, cache: Cache, headKernel?: tf.Tensor | null): { logits: tf.Tensor2D; cache: Cache };
}

/** One step's output: the logits (B·V, row-major) or, on the fused greedy path, the ids chosen on the GPU. */
export interface StepOutput {
  logits: Float32Array | null;
  ids: Int32Array | null;
}

/** A decoding loop's source of logits. */
export interface StepSource {
  /** The logits after the prompt (B·V). */
  first(): Promise<Float32Array>;
  /**
   * Feeds `tokens` (B) and returns the next step's output.
   * @param onDevice the tokens equal the ids the previous step chose on the device (no upload needed)
   */
  next(tokens: number[], onDevice: boolean): Promise<StepOutput>;
  /** Frees every tensor and buffer of the source. */
  dispose(): void;
}

const disposeCache = (cache: Cache) => tf.dispose(cache.flatMap((c) => [c.conv, c.ssm]));

/** The prompt's parallel forward: the logits of its last position (B, V) and the cache. */
function prefill(lm: DecodingLM, rows: number[][], mask: number[][] | null, headKernel: tf.Tensor | null): { logits: tf.Tensor2D; cache: Cache } {
  const [b, l] = [rows.length, rows[0].length];
  return tf.tidy(() => {
    const maskT = mask ? tf.tensor2d(mask, [b, l], 'float32') : undefined; // (B, L)
    return lm.prefillLast(tf.tensor2d(rows, [b, l], 'int32'), maskT, headKernel); // (B, V)
  });
}

/** The tfjs path: prefillLast, then lm.step per token. */
export function tfjsSource(lm: DecodingLM, rows: number[][], mask: number[][] | null, maxNewTokens: number): StepSource {
  const headKernel = maxNewTokens > 2 ? lm.decodeHeadKernel() : null; // (D, V) or null
  let state: { logits: tf.Tensor2D; cache: Cache } | null = null;
  return {
    async first() {
      state = prefill(lm, rows, mask, headKernel);
      return (await state.logits.data()) as Float32Array; // (B·V)
    },
    async next(tokens) {
      const prev = state as { logits: tf.Tensor2D; cache: Cache };
      const ids = tf.tensor1d(tokens, 'int32'); // (B,)
      try {
        state = lm.step(ids, prev.cache, headKernel); // (B, V)
      } finally {
        ids.dispose();
      }
      prev.logits.dispose();
      disposeCache(prev.cache);
      return { logits: (await state.logits.data()) as Float32Array, ids: null };
    },
    dispose() {
      headKernel?.dispose();
      if (state) {
        state.logits.dispose();
        disposeCache(state.cache);
      }
      state = null;
    },
  };
}

/**
 * The fused webgpu path: prefillLast on tfjs, the cache copied into a WebgpuDecoder, then one fused step per
 * token; `greedy`: the ids come from the GPU's argmax, else the logits are read back.
 */
export function fusedSource(lm: MambaLM, rows: number[][], mask: number[][] | null, greedy: boolean): StepSource {
  let fused: ReturnType<typeof fusedDecoder> | null = null;
  return {
    async first() {
      const { logits, cache } = prefill(lm as unknown as DecodingLM, rows, mask, null);
      try {
        fused = fusedDecoder(lm, rows.length);
        await fused.decoder.ready();
        fused.decoder.loadState(cache.map((c) => c.conv), cache.map((c) => c.ssm));
        return (await logits.data()) as Float32Array; // (B·V)
      } finally {
        logits.dispose();
        disposeCache(cache);
      }
    },
    async next(tokens, onDevice) {
      const d = (fused as ReturnType<typeof fusedDecoder>).decoder;
      if (greedy) {
        // Pipelined: the GPU runs the next step (on the ids it chose) while the host reads this one's. A step in
        // flight was submitted on the GPU's ids; `tokens` can differ from them only on rows that stopped (padding:
        // their state no longer matters), so it stays valid.
        // The next step is submitted before this one's ids are awaited, so two stay in flight while the host waits.
        if (d.pendingSteps === 0) d.submitGreedy(onDevice ? null : tokens);
        d.submitGreedy(null);
        return { logits: null, ids: await d.takeIds() };
      }
      return { logits: await d.step(tokens, 'logits'), ids: null };
    },
    dispose() {
      fused?.dispose();
      fused = null;
    },
  };
}
