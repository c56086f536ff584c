/** Loads a checkpoint and a tokenizer from URLs and streams generated text, with tokens/s. */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { loadCheckpointFromUrl } from '../src/io/web/loadFromUrl';
import { loadTokenizerFromUrl } from '../src/io/web/tokenizerFromUrl';
import { generate } from '../src/generation/generate';
import { findMambaLM } from '../src/layers/factories';
import { TextStreamer } from '../src/generation/textStreamer';

export interface GenerateRequest {
  modelUrl: string;
  tokenizerUrl: string;
  prompt: string;
  maxNewTokens: number;
  cache: boolean;
}

/** Loads, then generates (top-k sampling, seeded); `onText` gets each new piece, `onStat` a status line. */
export async function loadAndGenerate(q: GenerateRequest, onText: (piece: string) => void, onStat: (line: string) => void): Promise<void> {
  const t0 = performance.now();
  onStat('loading…');
  const [model, tokenizer] = await Promise.all([
    loadCheckpointFromUrl(q.modelUrl, { cache: q.cache }) as Promise<LayersModel>,
    loadTokenizerFromUrl(q.tokenizerUrl, { cache: q.cache }),
  ]);
  const loadMs = performance.now() - t0;
  try {
    // A test-sized checkpoint (such as the tiny fixture, 1000 ids) has fewer ids than GPT-NeoX: its prompt keeps
    // only the ids the model has, and it generates (untrained) text from those.
    const vocab = findMambaLM(model).vocabSize;
    const ids = tokenizer.encode(q.prompt).filter((id) => id < vocab);
    if (ids.length === 0) throw new Error(`no prompt token is below the model's vocabulary size ${vocab}`);
    const streamer = new TextStreamer(tokenizer, ids);
    onText(tokenizer.decode(ids));
    const t1 = performance.now();
    let n = 0;
    await generate(model, [ids], {
      maxNewTokens: q.maxNewTokens, temperature: 0.8, topK: 40, seed: 1,
      onToken: (tokens) => {
        n++;
        onText(streamer.push(tokens[0]));
        const s = (performance.now() - t1) / 1000;
        onStat(`loaded in ${loadMs.toFixed(0)} ms (vocabulary ${vocab}); ${n} tokens, ${(n / s).toFixed(1)} tokens/s`);
      },
    });
  } finally {
    model.dispose();
  }
}
