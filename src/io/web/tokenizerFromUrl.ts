/**
 * A MambaTokenizer from a tokenizer.json URL (browser): fetch, then `@huggingface/tokenizers` (browser-safe, pure
 * JS). This file reaches an I/O package, so the core entry does not export it: src/web.ts does.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { DecodeOptions, MambaTokenizer } from '../tokenizer/tokenizer';
import { cachedFile, cacheFile, hasIndexedDB } from './fileCache';
import { fetchOk } from './fetchFile';

/** Tokens tried, in order, as end-of-text (the same list as the Node loader). */
const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function fetchText(url: string, cache: boolean): Promise<string> {
  const hit = cache ? await cachedFile(url) : null;
  if (hit) return new TextDecoder().decode(hit);
  const text = await (await fetchOk(url)).text();
  if (cache) await cacheFile(url, new TextEncoder().encode(text));
  return text;
}

/**
 * Loads the tokenizer at `url` (a tokenizer.json). Decoding stays lossless (no clean-up of spaces); ids without a
 * token decode to nothing, as with the Node loader.
 */
export async function loadTokenizerFromUrl(url: string, options: { cache?: boolean } = {}): Promise<MambaTokenizer> {
  const text = await fetchText(url, (options.cache ?? false) && hasIndexedDB());
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`loadTokenizerFromUrl("${url}"): expected JSON, got a parse error: ${(e as Error).message}`);
  }
  if (!isObject(json) || !isObject(json.model) || !Array.isArray(json.added_tokens)) {
    throw new Error(`loadTokenizerFromUrl("${url}"): expected a tokenizer.json object with "model" and "added_tokens", got ${isObject(json) ? `keys ${Object.keys(json).slice(0, 8).join(', ')}` : typeof json}`);
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, { clean_up_tokenization_spaces: false });
  } catch (e) {
    throw new Error(`loadTokenizerFromUrl("${url}"): not a supported tokenizer definition: ${(e as Error).message}`);
  }
  let maxId = -1;
  for (const id of tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const eosTokenId = EOS_CANDIDATES.map((n) => tok.token_to_id(n)).find((id) => id !== undefined) ?? null;
  return {
    vocabSize: maxId + 1,
    eosTokenId,
    encode(s: string): number[] {
      if (typeof s !== 'string') throw new Error(`MambaTokenizer.encode: expected a string, got ${typeof s}`);
      return tok.encode(s).ids;
    },
    decode(ids: number[], opts: DecodeOptions = {}): string {
      const known = ids.filter((id) => {
        if (!Number.isInteger(id) || id < 0) throw new Error(`MambaTokenizer.decode: expected non-negative integer ids, got ${String(id)}`);
        return tok.id_to_token(id) !== undefined;
      });
      return known.length === 0 ? '' : tok.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false });
    },
  };
}
