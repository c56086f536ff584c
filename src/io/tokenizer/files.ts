/**
 * The tokenizer files that travel with a model directory (copied by convert and export-hf).
 */
import { promises as fsp } from 'fs';
import { join } from 'path';

/** Files copied beside the weights when present. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Copies each of {@link TOKENIZER_FILES} present in `fromDir` into `toDir`; returns the names copied. */
export async function copyTokenizerFiles(fromDir: string, toDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of TOKENIZER_FILES) {
    const src = join(fromDir, name);
    try {
      if (!(await fsp.stat(src)).isFile()) continue;
    } catch {
      continue;
    }
    await fsp.copyFile(src, join(toDir, name));
    copied.push(name);
  }
  return copied;
}
