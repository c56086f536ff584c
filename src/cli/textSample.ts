/**
 * A sample of what a byte-level text model writes, shown at each validation of `train --task text`: the same
 * prompt (the start of a held-out window) continued by sampling with a fixed seed, so samples are comparable
 * from one validation to the next.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { generate } from '../generation/generate';
import { ByteTokenizer } from '../generation/byteTokenizer';
import { Rng } from '../tasks/rng';
import type { Task } from '../tasks/types';

/** Offset that gives the sample prompt its own seed. */
const SAMPLE_SEED_OFFSET = 3_000_017;

/** Options of {@link sampleText}. */
export interface SampleTextOptions {
  /** Prompt bytes taken from the validation split (default 32, at most the task's length). */
  promptBytes?: number;
  /** Bytes to generate (default 96). */
  newBytes?: number;
  /** Sampling temperature (default 0.8). */
  temperature?: number;
}

/** A prompt and the model's continuation, as text. */
export interface TextSample {
  prompt: string;
  continuation: string;
}

/** Continues a held-out prompt with the model (seeded: the same prompt and draws at every call with `seed`). */
export async function sampleText(model: LayersModel, task: Task, seed: number, opts: SampleTextOptions = {}): Promise<TextSample> {
  const want = Math.min(opts.promptBytes ?? 32, task.seqLen);
  const window = Math.min(2 * want, task.seqLen);
  const batch = task.sample(new Rng(seed + SAMPLE_SEED_OFFSET), 1, { length: window, split: 'val' });
  const prompt = alignedPrompt(Array.from(batch.x.subarray(0, window)), want);
  const out = await generate(model, [prompt], { maxNewTokens: opts.newBytes ?? 96, temperature: opts.temperature ?? 0.8, seed });
  const bytes = new ByteTokenizer();
  return { prompt: bytes.decode(prompt), continuation: bytes.decode(out.sequences[0].slice(prompt.length)) };
}

/**
 * About `want` bytes of `window` that start after its first space or newline (when there is one early enough) and
 * end before a UTF-8 character's first byte, so that the prompt reads as whole words and characters.
 */
export function alignedPrompt(window: number[], want: number): number[] {
  const continuation = (b: number): boolean => b >= 0x80 && b < 0xc0;
  const space = window.findIndex((b) => b === 0x20 || b === 0x0a);
  let start = space >= 0 && space + 1 + want <= window.length ? space + 1 : 0;
  while (start < window.length - 1 && continuation(window[start])) start++;
  let end = Math.min(window.length, start + want);
  // The last character's first byte, and its length from that byte: cut before it when it does not fit.
  let lead = end - 1;
  while (lead > start && end - lead < 4 && continuation(window[lead])) lead--;
  const b = window[lead];
  const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  if (lead > start && lead + len > end) end = lead;
  return window.slice(start, end);
}

/** One log line: the prompt and its continuation, quoted with escapes so that newlines stay on the line. */
export function formatSample(s: TextSample): string {
  return `sample: ${JSON.stringify(s.prompt)} → ${JSON.stringify(s.continuation)}`;
}
