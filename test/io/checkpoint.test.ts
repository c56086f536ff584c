import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { findMambaLM } from '../../src/layers/factories';
import { FIXTURE_NAMES, fixtureDir } from '../helpers/fixtures';
import { checkAgainstReference, lmView } from '../helpers/parity';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(FIXTURE_NAMES)('loadCheckpoint(%s) equals the reference', (fixture) => {
  test.each(['pscan', 'sequential', 'fused'] as const)('%s mode: logits, hidden states, loss, gradients', async (mode) => {
    const model = await loadCheckpoint(fixtureDir(fixture), { scanMode: mode });
    const lm = findMambaLM(model);
    await checkAgainstReference(fixture, model, lmView(lm));
  }, 300_000); // the sequential mode's gradient is a long chain of small cpu ops
});

test('loadCheckpoint names what is wrong: missing directory, missing config', async () => {
  await expect(loadCheckpoint('/nonexistent/dir')).rejects.toThrow(/expected a checkpoint directory.*missing/);
  await expect(loadCheckpoint(__dirname)).rejects.toThrow(/expected config.json/);
});
