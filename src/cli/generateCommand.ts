/**
 * `mamba-tfjs generate --model DIR --prompt "…"`: continue a prompt, streaming the text to stdout, and end with a
 * line giving the speed in tokens/s. The text goes through the model's tokenizer: --tokenizer, else the byte-level
 * one of a model trained by `mamba-tfjs train --task text` (saved in its model.json), else tokenizer.json beside
 * the model. `--ids 1,2,3` gives the prompt as raw token ids instead; a model without any tokenizer then prints
 * ids (comma-separated, as --ids takes them).
 *
 * DIR is a tfjs model directory (model.json, from `mamba-tfjs convert`, `train` or `model.save`) or a HuggingFace
 * checkpoint directory (config.json + weights), of a Mamba or a Mamba-2 model (HF or state-spaces layout).
 */
import { performance } from 'perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, selectBackend } from '../backend';
import { LMBase, findLayer } from '../layers/lmBase';
import { loadModel, modelDirKind } from '../io/loadModel';
import type { MambaTokenizer } from '../io/tokenizer/tokenizer';
import { resolveTokenizer } from './modelTokenizer';
import { generate } from '../generation/generate';
import { TextStreamer } from '../generation/textStreamer';

/** Options of {@link runGenerateCommand}. */
export interface GenerateCommandOptions {
  /** Model directory: tfjs (model.json) or HuggingFace checkpoint (config.json). */
  model: string;
  /** The text to continue (or give `ids`). */
  prompt?: string;
  /** The prompt as raw token ids (instead of `prompt`). */
  ids?: number[];
  /** New tokens at most (default 64). */
  maxTokens?: number;
  /** 0 = greedy (default 1). */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Backend to run on (default: $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu). */
  backend?: string;
  /** tokenizer.json (default: the one in the model directory). */
  tokenizer?: string;
}

/** What a run printed and measured. */
export interface GenerateCommandResult {
  /** The generated text (without the prompt); for a model without a tokenizer, the new ids comma-separated. */
  text: string;
  /** The new token ids. */
  tokens: number[];
  /** New tokens per second over the whole call (prompt processing included). */
  tokensPerSecond: number;
  /** The last line printed. */
  statsLine: string;
}

/** The speed line that ends the output. */
export function formatStats(newTokens: number, seconds: number, promptTokens: number, promptSeconds: number): string {
  const rate = seconds > 0 ? newTokens / seconds : 0;
  return `${newTokens} tokens in ${seconds.toFixed(2)} s: ${rate.toFixed(2)} tokens/s ` +
    `(prompt: ${promptTokens} tokens in ${(promptSeconds * 1000).toFixed(0)} ms)`;
}

/**
 * Load the model and tokenizer, generate, and write the prompt, the new text as it comes, and the speed line.
 * @param write where the text goes (default: process.stdout)
 */
export async function runGenerateCommand(
  options: GenerateCommandOptions, write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<GenerateCommandResult> {
  if ((options.prompt === undefined) === (options.ids === undefined)) {
    throw new Error(`generate: expected exactly one of --prompt and --ids, got ${options.prompt === undefined ? 'neither' : 'both'}`);
  }
  await selectBackend(options.backend);
  modelDirKind(options.model); // a missing or unrecognized directory is named before the tokenizer
  const tokenizer = await resolveTokenizer(options.model, options.tokenizer, options.ids === undefined);
  const { model } = await loadModel(options.model);
  try {
    const lm = findLayer(model, LMBase, 'a MambaLM or Mamba2LM');
    const ids = options.ids ?? (tokenizer as MambaTokenizer).encode(options.prompt as string);
    if (ids.length === 0) throw new Error(`generate: expected a prompt of at least one token, got ${JSON.stringify(options.prompt ?? '')}`);
    const outside = ids.find((id) => id >= lm.paddedVocab);
    if (outside !== undefined) {
      const shown = tokenizer ? ` (${JSON.stringify(tokenizer.decode([outside]))})` : '';
      throw new Error(`generate: the prompt's token ${outside}${shown} is outside the model's vocabulary: expected ids < ${lm.paddedVocab}`);
    }
    const out = tokenizer ? textOutput(tokenizer, ids, options.prompt) : idOutput(ids);
    const tokens: number[] = [];
    write(out.prompt);
    const started = performance.now();
    let firstAt = started;
    await generate(model, [ids], {
      maxNewTokens: options.maxTokens ?? 64,
      temperature: options.temperature ?? 1,
      topK: options.topK,
      topP: options.topP,
      seed: options.seed,
      stopTokens: tokenizer?.eosTokenId != null ? [tokenizer.eosTokenId] : [],
      onToken: ([id], step) => {
        if (step === 0) firstAt = performance.now();
        tokens.push(id);
        const piece = out.push(id);
        if (piece) write(piece);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const rest = out.flush();
    if (rest) write(rest);
    const statsLine = formatStats(tokens.length, seconds, ids.length, (firstAt - started) / 1000);
    write(`\n${statsLine}\n`);
    return { text: out.text(), tokens, tokensPerSecond: seconds > 0 ? tokens.length / seconds : 0, statsLine };
  } finally {
    model.dispose();
  }
}

/** How the prompt and each new token are printed. */
interface Output {
  prompt: string;
  push(id: number): string;
  flush(): string;
  /** Everything printed after the prompt. */
  text(): string;
}

/** Text through the tokenizer, streamed without partial characters. */
function textOutput(tokenizer: MambaTokenizer, ids: number[], prompt: string | undefined): Output {
  const streamer = new TextStreamer(tokenizer, ids);
  return {
    prompt: prompt ?? tokenizer.decode(ids),
    push: (id) => streamer.push(id),
    flush: () => streamer.flush(),
    text: () => streamer.text,
  };
}

/** Raw ids, comma-separated as --ids takes them (a model without a tokenizer). */
function idOutput(ids: number[]): Output {
  const pieces: string[] = [];
  return {
    prompt: ids.join(','),
    push: (id) => {
      pieces.push(String(id));
      return `,${id}`;
    },
    flush: () => '',
    text: () => pieces.join(','),
  };
}

/** A parser for commander: comma-separated non-negative integer token ids. */
export function tokenIds(v: string): number[] {
  const parts = v.split(',').map((p) => p.trim());
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => p === '' || !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined) throw new InvalidArgumentError(`expected comma-separated non-negative integer token ids such as 1,2,3, got "${v}"`);
  return ids;
}

/** A parser for commander: an integer ≥ min. */
function integer(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** A parser for commander: a number in [lo, hi] (loInclusive chooses ≥ or >). */
function number(lo: number, hi: number, loInclusive: boolean): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || (loInclusive ? n < lo : n <= lo) || n > hi) {
      throw new InvalidArgumentError(`expected a number in ${loInclusive ? '[' : '('}${lo}, ${hi}], got "${v}"`);
    }
    return n;
  };
}

/** Adds the `generate` subcommand to `program`. */
export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('continue a prompt with a Mamba or Mamba-2 language model, streaming the text (tokenizer.json beside the model, or a byte-level model from `train --task text`)')
    .requiredOption('--model <dir>', 'tfjs model directory (model.json) or HuggingFace checkpoint directory (config.json)')
    .option('--prompt <text>', 'the text to continue')
    .option('--ids <list>', 'the prompt as raw token ids, e.g. 1,2,3 (a model without a tokenizer then prints ids)', tokenIds)
    .option('--max-tokens <n>', 'new tokens at most', integer(0), 64)
    .option('--temperature <t>', 'sampling temperature; 0 decodes greedily', number(0, Infinity, true), 1)
    .option('--top-k <k>', 'sample among the k most likely tokens', integer(1))
    .option('--top-p <p>', 'sample among the most likely tokens holding probability p (nucleus)', number(0, 1, false))
    .option('--seed <n>', 'seed of the sampler (default: random)', integer(0))
    .option('--tokenizer <path>', 'tokenizer.json to use instead of the one in the model directory')
    .addOption(new Option('--backend <name>', 'tfjs backend (default: $MAMBA_TFJS_BACKEND, else wasm when installed, else cpu)').choices(BACKENDS))
    .action(async (opts: GenerateCommandOptions) => {
      await runGenerateCommand(opts);
    });
}
