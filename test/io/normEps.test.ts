/**
 * The config's norm epsilon reaches every RMSNorm: tiny-hf-eps has layer_norm_epsilon 1e-3 (not the 1e-5
 * default), and each per-layer norm and norm_f must carry it after loadCheckpoint and after convert →
 * tf.loadLayersModel. (Its parity tests in checkpoint.test.ts show the outputs need it: the mean square of the
 * first norm's input rows is of the order of 1e-3.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import '../../src/node'; // the file:// handler
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { convertCheckpoint } from '../../src/io/hf/convert';
import { findMambaLM } from '../../src/layers/factories';
import { RMSNorm } from '../../src/layers/rmsNorm';
import { fixtureDir } from '../helpers/fixtures';

const FIXTURE = 'tiny-hf-eps';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The configured epsilon, read from the fixture's config.json (not restated here). */
function configEps(): number {
  const config = JSON.parse(fs.readFileSync(path.join(fixtureDir(FIXTURE), 'config.json'), 'utf8')) as { layer_norm_epsilon: number };
  return config.layer_norm_epsilon;
}

/** Every RMSNorm of the model, by weight name: each layer's `norm` and `norm_f`, with its eps. */
function normEps(model: tf.LayersModel): Record<string, number> {
  const lm = findMambaLM(model);
  const norms: RMSNorm[] = [...lm.backbone.blocks.map((b) => b.norm), lm.normF];
  return Object.fromEntries(norms.map((n) => {
    expect(n).toBeInstanceOf(RMSNorm);
    expect(n.getConfig().eps).toBe(n.eps); // what a save writes
    return [n.weight.originalName, n.eps];
  }));
}

/** What normEps must give: nLayers + 1 norms, each with the config's eps. */
function expected(nLayers: number): Record<string, number> {
  const eps = configEps();
  const names = [...Array.from({ length: nLayers }, (_, i) => `backbone.layers.${i}.norm.weight`), 'backbone.norm_f.weight'];
  return Object.fromEntries(names.map((n) => [n, eps]));
}

test('the fixture sets an epsilon other than the default', () => {
  expect(configEps()).toBe(1e-3);
});

test('loadCheckpoint: every RMSNorm has the config epsilon', async () => {
  const model = await loadCheckpoint(fixtureDir(FIXTURE));
  try {
    expect(normEps(model)).toEqual(expected(findMambaLM(model).backbone.config.nLayers));
  } finally {
    model.dispose();
  }
});

test('convert → tf.loadLayersModel: every RMSNorm has the config epsilon', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-normeps-'));
  try {
    const out = path.join(tmp, 'tfjs');
    await convertCheckpoint(fixtureDir(FIXTURE), out);
    const model = await tf.loadLayersModel(`file://${path.join(out, 'model.json')}`);
    try {
      expect(normEps(model)).toEqual(expected(findMambaLM(model).backbone.config.nLayers));
    } finally {
      model.dispose();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
