/**
 * The tokenizer `mamba-tfjs generate` uses for a model directory: --tokenizer when given; else the descriptor
 * saved in model.json (a byte-level model from `train --task text`); else tokenizer.json beside the model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadTokenizer, type MambaTokenizer } from '../io/tokenizer/tokenizer';
import { readJsonFileSync } from '../io/regularFile';
import { ByteTokenizer, tokenizerDescriptor } from '../generation/byteTokenizer';

/** The descriptor saved in `dir/model.json`, or null (no model.json, or none saved). */
function savedDescriptor(dir: string): ReturnType<typeof tokenizerDescriptor> {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) return null;
  const json = readJsonFileSync(file, 'a tfjs model.json'); // regular files only, capped, errors name the file
  return tokenizerDescriptor((json as { userDefinedMetadata?: unknown } | null)?.userDefinedMetadata, file);
}

/**
 * The model's tokenizer, or null when it has none and `required` is false (the caller then works in raw ids).
 * @param tokenizerPath --tokenizer: a tokenizer.json (or its folder) overriding what the model directory holds
 * @throws Error naming the missing tokenizer.json when `required` and the model has no tokenizer
 */
export async function resolveTokenizer(modelDir: string, tokenizerPath: string | undefined, required: boolean): Promise<MambaTokenizer | null> {
  if (tokenizerPath) return loadTokenizer(tokenizerPath);
  if (savedDescriptor(modelDir)) return new ByteTokenizer();
  const beside = path.join(modelDir, 'tokenizer.json');
  if (!required && !fs.existsSync(beside)) return null;
  return loadTokenizer(beside).catch((e: Error) => {
    throw new Error(`${e.message} (put tokenizer.json beside the model or pass --tokenizer; --ids takes raw token ids)`);
  });
}
