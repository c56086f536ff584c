/**
 * The fuzzing targets: each names its seed inputs (fixture files), the mutations that suit its format, and
 * how one input is run through our reader (opening it and reading everything it describes).
 *
 *   safetensors  SafetensorsFile.open + readFloat32 (and readInt32 for integer dtypes) of every tensor
 *   torch        TorchCheckpoint.open + readFloat32 of every tensor (zip records and the pickle inside)
 *   unpickle     unpickle() of data.pkl with torch's allowlist and persistent-id loader, and of a rich pickle
 *   config       parseCheckpointConfig, then the model config it yields resolved (no model is built)
 *   modeljson    a tfjs model.json (topology, weightsManifest) through the streaming index and the file:// load
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../src/tasks/rng';
import { SafetensorsFile } from '../src/io/safetensors';
import { TorchCheckpoint } from '../src/io/torch/checkpoint';
import { TORCH_PICKLE_GLOBALS, torchPersistentLoad } from '../src/io/torch/pickleGlobals';
import { unpickle } from '../src/io/torch/unpickle';
import { parseCheckpointConfig } from '../src/io/hf/config';
import { resolveMambaConfig } from '../src/layers/config';
import { paddedVocabSize } from '../src/layers/mambaLM';
import { GENERIC_MUTATORS, Mutated, Mutator, bitFlip } from './bytes';
import { fieldMutator } from './fields';
import { scanZipFields, findStoredEntry } from './zipFields';
import { pickleFieldScanner, pickleOpMutator, wholeInput, PickleLocator } from './pickleFields';
import { headerJsonMutator, headerLengthMutator, hugeTensorMutator } from './safetensorsMutations';
import { mutateJson } from './jsonMutations';
import { richPickle } from './pickleSeed';
import { modelJsonTarget } from './modelJsonTarget';

/** A named seed input. */
export interface Seed {
  name: string;
  bytes: Uint8Array;
}

/** One fuzzing target. */
export interface FuzzTarget {
  name: string;
  seeds: Seed[];
  /** Mutators with their relative weights. */
  mutators: Array<[number, Mutator]>;
  /** The name our errors must carry (the file path or source label), so that they are recognizably ours. */
  label: string;
  /**
   * Runs one input through the reader. Returns what was read (kept alive by the runner until its memory is
   * measured). `dir` is a scratch directory the target may write its input file into.
   */
  run(bytes: Uint8Array, dir: string): Promise<unknown>;
}

/** Picks a mutator by weight. */
export function pickMutator(mutators: Array<[number, Mutator]>, rng: Rng): Mutator {
  const total = mutators.reduce((s, [w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [w, m] of mutators) {
    r -= w;
    if (r < 0) return m;
  }
  return mutators[mutators.length - 1][1];
}

const generic = (weight: number): Array<[number, Mutator]> => GENERIC_MUTATORS.map((m) => [weight, m]);

function readSeed(fixtures: string, rel: string): Seed {
  const file = path.join(fixtures, rel);
  if (!fs.existsSync(file)) throw new Error(`fuzz: expected the fixture file ${file}, found none`);
  return { name: rel, bytes: new Uint8Array(fs.readFileSync(file)) };
}

/** safetensors: the header length, the JSON header, huge tensor claims, and raw bytes. */
export function safetensorsTarget(fixtures: string): FuzzTarget {
  const label = 'model.safetensors';
  return {
    name: 'safetensors',
    label,
    seeds: ['tiny-hf/model.safetensors', 'tiny-hf-bf16/model.safetensors', 'tiny-orig/reference.safetensors'].map((r) => readSeed(fixtures, r)),
    mutators: [...generic(1), [3, headerLengthMutator(bitFlip)], [8, headerJsonMutator(bitFlip)], [3, hugeTensorMutator(bitFlip)]],
    async run(bytes, dir) {
      const file = path.join(dir, label);
      fs.writeFileSync(file, bytes);
      const st = await SafetensorsFile.open(file);
      const read: unknown[] = [];
      try {
        for (const name of st.keys()) {
          read.push(await st.readFloat32(name));
          const { dtype } = st.entry(name);
          if (dtype[0] === 'I' || dtype[0] === 'U' || dtype === 'BOOL') read.push(await st.readInt32(name).catch(intRangeOnly));
        }
      } finally {
        await st.close();
      }
      return read;
    },
  };
}

/** readInt32 of I64 data that does not fit int32 is a legitimate refusal: count it as a read. */
function intRangeOnly(e: unknown): null {
  if (e instanceof Error && /does not fit in int32/.test(e.message)) return null;
  throw e;
}

/** Locates data.pkl inside a torch zip. */
const pickleInZip: PickleLocator = (input) => {
  const e = findStoredEntry(input, '/data.pkl');
  return e && { start: e.start, end: e.start + e.size };
};

/** torch zip: zip records, the pickle inside (same-length edits, since the zip records its size), raw bytes. */
export function torchTarget(fixtures: string): FuzzTarget {
  const label = 'pytorch_model.bin';
  return {
    name: 'torch',
    label,
    seeds: [readSeed(fixtures, 'tiny-orig/pytorch_model.bin')],
    mutators: [
      ...generic(1), [6, fieldMutator(scanZipFields, bitFlip)], [6, fieldMutator(pickleFieldScanner(pickleInZip), bitFlip)],
      [3, pickleOpMutator(pickleInZip, bitFlip, true)],
    ],
    async run(bytes, dir) {
      const file = path.join(dir, label);
      fs.writeFileSync(file, bytes);
      const ck = await TorchCheckpoint.open(file);
      const read: unknown[] = [];
      try {
        for (const name of ck.keys()) read.push(await ck.readFloat32(name));
      } finally {
        await ck.close();
      }
      return read;
    },
  };
}

/** unpickle: torch's data.pkl and a pickle rich in opcodes; opcode edits, argument fields, raw bytes. */
export function unpickleTarget(fixtures: string): FuzzTarget {
  const label = 'fuzz.pkl';
  const zip = readSeed(fixtures, 'tiny-orig/pytorch_model.bin');
  const at = findStoredEntry(zip.bytes, '/data.pkl');
  if (!at) throw new Error(`fuzz: expected a data.pkl entry in ${zip.name}, found none`);
  return {
    name: 'unpickle',
    label,
    seeds: [
      { name: 'tiny-orig/pytorch_model.bin:data.pkl', bytes: zip.bytes.slice(at.start, at.start + at.size) },
      { name: 'rich protocol-4 pickle', bytes: richPickle() },
    ],
    mutators: [...generic(1), [6, fieldMutator(pickleFieldScanner(wholeInput), bitFlip)], [6, pickleOpMutator(wholeInput, bitFlip)]],
    async run(bytes) {
      return unpickle(bytes, { globals: TORCH_PICKLE_GLOBALS, persistentLoad: torchPersistentLoad, source: label });
    },
  };
}

/** A JSON mutation of a text file's content. */
const jsonMutator: Mutator = (input, rng): Mutated => {
  const m = mutateJson(Buffer.from(input).toString('utf8'), rng);
  return { bytes: new Uint8Array(Buffer.from(m.text, 'utf8')), what: m.what };
};

/** config.json: JSON mutations (structural and textual), raw bytes. */
export function configTarget(fixtures: string): FuzzTarget {
  const label = 'config.json';
  return {
    name: 'config',
    label,
    seeds: ['tiny-hf', 'tiny-hf-bf16', 'tiny-orig'].map((d) => readSeed(fixtures, `${d}/config.json`)),
    mutators: [...generic(1), [12, jsonMutator]],
    async run(bytes) {
      const { args } = parseCheckpointConfig(Buffer.from(bytes).toString('utf8'), label);
      // Whatever the parser accepts must make a valid model config (checked without building anything).
      const resolved = resolveMambaConfig(args);
      return { resolved, vocab: paddedVocabSize(args.vocabSize, args.padVocabSizeMultiple) };
    },
  };
}

/** All targets, by name. */
export function allTargets(fixtures: string): FuzzTarget[] {
  return [safetensorsTarget(fixtures), torchTarget(fixtures), unpickleTarget(fixtures), configTarget(fixtures), modelJsonTarget()];
}
