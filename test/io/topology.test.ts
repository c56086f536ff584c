/**
 * mambaLMTopology and mambaLMWeightShapes compute, without building a model, what createMambaLM builds:
 * these tests pin them to the real thing so they cannot drift apart.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { createMambaLM, findMambaLM } from '../../src/layers/factories';
import type { MambaLMArgs } from '../../src/layers/mambaLM';
import { mambaLMTopology } from '../../src/io/tfjs/topology';
import { mambaLMWeightShapes } from '../../src/io/hf/weightPlan';
import { parseCheckpointConfig } from '../../src/io/hf/config';
import { mambaLMArgsFromTopology } from '../../src/io/tfjs/topologyArgs';
import { FIXTURE_NAMES, fixtureDir } from '../helpers/fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CONFIGS: [string, MambaLMArgs][] = [
  ['defaults', { vocabSize: 100, dModel: 16, nLayers: 2 }],
  ['everything set', {
    vocabSize: 50, dModel: 8, nLayers: 3, dtRank: 3, dState: 4, expandFactor: 3, dConv: 2, dtMin: 0.01, dtMax: 0.2,
    dtInit: 'constant', dtScale: 0.5, dtInitFloor: 1e-3, normEps: 1e-6, bias: true, convBias: false,
    pscan: false, scanMode: 'sequential', seed: 7, padVocabSizeMultiple: 1, name: 'my_lm',
  }],
  ['biases, no pad', { vocabSize: 33, dModel: 12, nLayers: 1, bias: true, padVocabSizeMultiple: 16, scanMode: 'fused' }],
  ...FIXTURE_NAMES.map((f): [string, MambaLMArgs] => [
    `fixture ${f}`, parseCheckpointConfig(fs.readFileSync(path.join(fixtureDir(f), 'config.json'), 'utf8')).args,
  ]),
];

describe.each(CONFIGS)('%s', (_label, args) => {
  test('mambaLMTopology deep-equals createMambaLM(args).toJSON(null, false)', () => {
    const model = createMambaLM(args);
    try {
      expect(mambaLMTopology(args)).toStrictEqual(model.toJSON(null, false));
      // and JSON round trip is the identity (no undefined / NaN sneaking in)
      expect(JSON.parse(JSON.stringify(mambaLMTopology(args)))).toEqual(mambaLMTopology(args));
    } finally {
      model.dispose();
    }
  });

  test('mambaLMWeightShapes lists the model weights: names, shapes, order', () => {
    const model = createMambaLM(args);
    try {
      const real = findMambaLM(model).weights.map((w) => ({ name: w.originalName, shape: w.shape }));
      expect(mambaLMWeightShapes(args)).toEqual(real);
    } finally {
      model.dispose();
    }
  });

  test('mambaLMArgsFromTopology reads the args back', () => {
    const back = mambaLMArgsFromTopology(mambaLMTopology(args), 'model.json');
    expect(mambaLMTopology({ ...back, name: args.name, pscan: args.pscan, scanMode: args.scanMode, seed: args.seed }))
      .toEqual(mambaLMTopology(args));
  });
});

test('mambaLMArgsFromTopology names the file when there is no MambaLM layer, or two', () => {
  expect(() => mambaLMArgsFromTopology({ class_name: 'Sequential', config: { layers: [] } }, 'x/model.json'))
    .toThrow(/x\/model.json: expected exactly one MambaLM layer in modelTopology, found 0/);
  const one = mambaLMTopology({ vocabSize: 10, dModel: 4, nLayers: 1 });
  expect(() => mambaLMArgsFromTopology([one, one], 'y.json')).toThrow(/found 2/);
  const bad = JSON.parse(JSON.stringify(one));
  bad.config.layers[1].config.d_model = 'wide';
  expect(() => mambaLMArgsFromTopology(bad, 'z.json')).toThrow(/z.json: MambaLM config "d_model" should be a number, got "wide"/);
});
