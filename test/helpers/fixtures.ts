/**
 * The project's test data in test/fixtures (test/fixtures/README.md says where it came from and how to rebuild it).
 */
import * as path from 'path';
import { SafetensorsFile } from '../../src/io/safetensors';

export const FIXTURES = path.resolve(__dirname, '../fixtures');
/** The GPT-NeoX-20B tokenizer of the state-spaces/mamba-* models. */
export const TOKENIZER_JSON = path.join(FIXTURES, 'tokenizers/gpt-neox-20b/tokenizer.json');
export const FIXTURE_NAMES = ['tiny-hf', 'tiny-hf-bf16', 'tiny-orig', 'tiny-hf-eps'] as const;
/** The rest of the Mamba family (#15): untied head + biases, FalconMamba; Mamba-2 in both layouts. */
export const FAMILY_FIXTURE_NAMES = ['tiny-hf-untied', 'tiny-falcon-mamba-hf', 'tiny-mamba2-hf', 'tiny-mamba2-orig'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number] | (typeof FAMILY_FIXTURE_NAMES)[number];

export function fixtureDir(name: FixtureName): string {
  return path.join(FIXTURES, name);
}

export interface Reference {
  file: SafetensorsFile;
  float(key: string): Promise<{ data: Float32Array; shape: number[] }>;
  int(key: string): Promise<{ data: Int32Array; shape: number[] }>;
  keys(): string[];
}

/** Open a fixture's reference.safetensors. Close `file` when done. */
export async function openReference(name: FixtureName): Promise<Reference> {
  const file = await SafetensorsFile.open(path.join(fixtureDir(name), 'reference.safetensors'));
  return {
    file,
    keys: () => file.keys(),
    float: async (key) => ({ data: await file.readFloat32(key), shape: file.entry(key).shape }),
    int: async (key) => ({ data: await file.readInt32(key), shape: file.entry(key).shape }),
  };
}
