/**
 * Text <-> token ids for Mamba models: a thin wrapper over `@huggingface/tokenizers` that loads a
 * local `tokenizer.json` (offline; the `state-spaces/mamba-*` models use GPT-NeoX-20B's).
 */
import { promises as fsp } from 'fs';
import { readRegularFileSync, MAX_JSON_BYTES } from '../regularFile';
import * as nodePath from 'path';
import { Tokenizer } from '@huggingface/tokenizers';

/** Options of {@link MambaTokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens such as `<|endoftext|>` (default false: decoding is lossless). */
  skipSpecialTokens?: boolean;
}

/** Encoder/decoder for one vocabulary. */
export interface MambaTokenizer {
  /** Token ids of `text` (no BOS/EOS added unless the tokenizer's post-processor adds them). */
  encode(text: string): number[];
  /**
   * Text of `ids`. Ids without a token (such as those at or above {@link vocabSize}: the rows a
   * model pads its vocabulary with) decode to nothing.
   *
   * @throws Error for an id that is not a non-negative integer.
   */
  decode(ids: number[], options?: DecodeOptions): string;
  /** Number of ids the tokenizer can produce: largest id + 1 (50277 for GPT-NeoX-20B). */
  readonly vocabSize: number;
  /** Id of the end-of-text token, or null when the tokenizer has none. */
  readonly eosTokenId: number | null;
}

/** Tokens tried, in order, as end-of-text when `tokenizer_config.json` does not name one. */
const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>'];

/**
 * Loads a tokenizer from a local `tokenizer.json` (and its sibling `tokenizer_config.json`, if
 * present, for the EOS token name).
 *
 * @param path Path of `tokenizer.json`, or of a folder containing it.
 * @throws Error naming the file when it is missing, not JSON, or not a tokenizer definition.
 */
export async function loadTokenizer(path: string): Promise<MambaTokenizer> {
  let file = path;
  if ((await fsp.stat(path).catch(() => null))?.isDirectory()) file = nodePath.join(path, 'tokenizer.json');
  const json = await readJson(file, 'loadTokenizer');
  if (json === undefined) throw new Error(`loadTokenizer("${path}"): expected a tokenizer.json file, found no file at ${file}`);
  if (!isObject(json) || !isObject(json.model) || !Array.isArray(json.added_tokens)) {
    throw new Error(
      `loadTokenizer("${file}"): expected a tokenizer.json object with "model" and "added_tokens", got ` +
        (isObject(json) ? `keys ${Object.keys(json).slice(0, 8).join(', ')}` : typeof json),
    );
  }
  const configFile = nodePath.join(nodePath.dirname(file), 'tokenizer_config.json');
  const config = (await readJson(configFile, 'loadTokenizer')) ?? {};
  if (!isObject(config)) throw new Error(`loadTokenizer("${configFile}"): expected a JSON object, got ${typeof config}`);
  let tokenizer: Tokenizer;
  try {
    // Decoding stays lossless unless the config explicitly asks for the clean-up of spaces before punctuation.
    tokenizer = new Tokenizer(json, { clean_up_tokenization_spaces: false, ...config });
  } catch (e) {
    throw new Error(`loadTokenizer("${file}"): not a supported tokenizer definition: ${(e as Error).message}`);
  }
  return new HfMambaTokenizer(tokenizer, eosName(config));
}

/** The EOS token's text from a tokenizer config (`"eos_token": "x"` or `{content: "x"}`). */
function eosName(config: Record<string, unknown>): string | null {
  const eos = config.eos_token;
  if (typeof eos === 'string') return eos;
  if (isObject(eos) && typeof eos.content === 'string') return eos.content;
  return null;
}

/** Parsed JSON of a file, or undefined when the file does not exist. */
async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    await fsp.access(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  try {
    text = readRegularFileSync(file, 'a tokenizer JSON file', MAX_JSON_BYTES).toString('utf8'); // not a FIFO or /dev/zero
  } catch (e) {
    throw new Error(`${what}("${file}"): cannot read the file: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${what}("${file}"): expected JSON, got a parse error: ${(e as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** {@link MambaTokenizer} backed by a `@huggingface/tokenizers` Tokenizer. */
class HfMambaTokenizer implements MambaTokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | null;

  constructor(
    private readonly tokenizer: Tokenizer,
    eos: string | null,
  ) {
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const names = eos !== null ? [eos] : EOS_CANDIDATES;
    this.eosTokenId = names.map((n) => tokenizer.token_to_id(n)).find((id) => id !== undefined) ?? null;
  }

  encode(text: string): number[] {
    if (typeof text !== 'string') throw new Error(`MambaTokenizer.encode: expected a string, got ${typeof text}`);
    return this.tokenizer.encode(text).ids;
  }

  decode(ids: number[], options: DecodeOptions = {}): string {
    const known: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) {
        throw new Error(`MambaTokenizer.decode: expected non-negative integer ids, got ${String(id)}`);
      }
      if (this.tokenizer.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return '';
    return this.tokenizer.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
    });
  }
}
