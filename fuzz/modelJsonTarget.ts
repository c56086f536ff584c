/**
 * The model.json target: a tfjs model directory's model.json (topology + weightsManifest) mutated, with its weight
 * file beside it and a "secret" file of the same size just outside the directory. Run through the streaming
 * loader's index (TfjsWeights.open, the topology check, every weight read) and the file:// handler's load.
 * Reading the secret (a manifest path escaping the directory) counts as a crash, however it happened.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TfjsWeights } from '../src/io/tfjs/weights';
import { fileSystem } from '../src/io/tfjs/fsHandler';
import { checkTopologyAgainstWeights } from '../src/io/tfjs/topologyCheck';
import { mambaLMTopology } from '../src/io/tfjs/topology';
import { mambaLMWeightShapes } from '../src/io/hf/weightPlan';
import { GENERIC_MUTATORS, Mutated, Mutator } from './bytes';
import { mutateJson } from './jsonMutations';
import type { FuzzTarget } from './targets';

const ARGS = { vocabSize: 16, dModel: 8, nLayers: 1, dState: 4, padVocabSizeMultiple: 8 };
const WEIGHTS = mambaLMWeightShapes(ARGS);
const WEIGHT_BYTES = WEIGHTS.reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
/** The secret's bytes: float32 1234.5 everywhere, a value no weight holds. */
const SECRET_VALUE = 1234.5;

/** The seed model.json of a tiny MambaLM. */
function seedJson(): string {
  return JSON.stringify({
    modelTopology: mambaLMTopology({ ...ARGS, weightInit: 'zeros' }),
    format: 'layers-model',
    weightsManifest: [{ paths: ['weights.bin'], weights: WEIGHTS.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
  });
}

/** Hostile edits that matter to a model.json: paths out of the directory, dtypes, shapes, layer counts. */
const manifestMutator: Mutator = (input, rng): Mutated => {
  let json;
  try {
    json = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch {
    return jsonMutator(input, rng); // an earlier mutation broke the JSON
  }
  if (json === null || typeof json !== 'object') return jsonMutator(input, rng);
  const group = json.weightsManifest?.[0];
  const spec = group?.weights?.[rng.int(Math.max(1, group?.weights?.length ?? 1))];
  const lm = json.modelTopology?.config?.layers?.find?.((l: { class_name?: string }) => l?.class_name === 'MambaLM');
  const edits: Array<[string, () => void]> = [
    ['path ../secret.bin', () => group && (group.paths[0] = '../secret.bin')],
    ['absolute path to the secret', () => group && (group.paths[0] = '@SECRET@')],
    ['path a/../../secret.bin', () => group && (group.paths[0] = 'a/../../secret.bin')],
    ['path /etc/hostname', () => group && (group.paths[0] = '/etc/hostname')],
    ['path link.bin (a symlink to the secret)', () => group && (group.paths[0] = 'link.bin')],
    ['path not a string', () => group && (group.paths[0] = rng.int(2) ? 42 : null)],
    ['dtype string', () => spec && (spec.dtype = 'string')],
    ['dtype int32', () => spec && (spec.dtype = 'int32')],
    ['shape a string', () => spec && (spec.shape = '8')],
    ['shape negative', () => spec && (spec.shape = [-4, -2])],
    ['shape huge', () => spec && (spec.shape = [2 ** 40, 2 ** 20])],
    ['n_layers 2^24', () => lm && (lm.config.n_layers = 2 ** 24)],
    ['d_model 8192', () => lm && (lm.config.d_model = 8192)],
    ['no modelTopology', () => delete json.modelTopology],
  ];
  const [what, edit] = edits[rng.int(edits.length)];
  edit();
  return { bytes: new Uint8Array(Buffer.from(JSON.stringify(json), 'utf8')), what: `model.json: ${what}` };
};

const jsonMutator: Mutator = (input, rng): Mutated => {
  const m = mutateJson(Buffer.from(input).toString('utf8'), rng);
  return { bytes: new Uint8Array(Buffer.from(m.text, 'utf8')), what: m.what };
};

/** Throws (a TypeError: a crash) when a read weight holds the secret's bytes. */
function assertNoSecret(data: Float32Array, where: string): void {
  if (data.some((v) => v === SECRET_VALUE)) throw new TypeError(`${where}: read the secret file outside the model directory`);
}

export function modelJsonTarget(): FuzzTarget {
  const label = 'model.json';
  return {
    name: 'modeljson',
    label,
    seeds: [{ name: 'tiny MambaLM model.json', bytes: new Uint8Array(Buffer.from(seedJson(), 'utf8')) }],
    mutators: [...GENERIC_MUTATORS.map((m): [number, Mutator] => [1, m]), [8, jsonMutator], [8, manifestMutator]],
    async run(bytes, dir) {
      const modelDir = path.join(dir, 'model');
      const secret = path.join(dir, 'secret.bin');
      fs.rmSync(modelDir, { recursive: true, force: true });
      fs.mkdirSync(modelDir);
      fs.writeFileSync(secret, Buffer.from(new Float32Array(WEIGHT_BYTES / 4).fill(SECRET_VALUE).buffer));
      fs.writeFileSync(path.join(modelDir, 'weights.bin'), Buffer.alloc(WEIGHT_BYTES));
      fs.symlinkSync(secret, path.join(modelDir, 'link.bin'));
      const text = Buffer.from(bytes).toString('utf8').split('@SECRET@').join(secret);
      fs.writeFileSync(path.join(modelDir, label), text);
      const read: Float32Array[] = [];
      const weights = await TfjsWeights.open(modelDir);
      try {
        checkTopologyAgainstWeights(weights.modelJson.modelTopology, weights, weights.modelJsonPath);
        for (const name of weights.keys()) read.push(await weights.readFloat32(name));
      } finally {
        await weights.close();
      }
      read.forEach((d) => assertNoSecret(d, 'TfjsWeights'));
      const artifacts = await fileSystem(path.join(modelDir, label)).load!();
      for (const buf of [artifacts.weightData ?? []].flat()) assertNoSecret(new Float32Array(buf as ArrayBuffer), 'fileSystem.load');
      return read;
    },
  };
}
