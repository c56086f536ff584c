import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { findMambaLM } from '../../src/layers/factories';
import { FIXTURE_NAMES, fixtureDir } from '../helpers/fixtures';
import { checkAgainstReference, lmView } from '../helpers/parity';
import { useWasm } from '../helpers/backend';

// The pscan and sequential modes run on wasm (see test/helpers/backend.ts for why); the cpu backend checks the fused
// mode, which runs our own JS kernels.
const CASES = [
  ...(['pscan', 'sequential', 'fused'] as const).map((mode) => ['wasm', mode] as const),
  ['cpu', 'fused'] as const,
];

describe.each(FIXTURE_NAMES)('loadCheckpoint(%s) equals the reference', (fixture) => {
  test.each(CASES)('%s backend, %s mode: logits, hidden states, loss, gradients', async (backend, mode) => {
    if (backend === 'wasm') await useWasm();
    else await tf.setBackend('cpu');
    const model = await loadCheckpoint(fixtureDir(fixture), { scanMode: mode });
    const lm = findMambaLM(model);
    await checkAgainstReference(fixture, model, lmView(lm));
  }, 60_000);
});

test('loadCheckpoint names what is wrong: missing directory, missing config', async () => {
  await expect(loadCheckpoint('/nonexistent/dir')).rejects.toThrow(/expected a checkpoint directory.*missing/);
  await expect(loadCheckpoint(__dirname)).rejects.toThrow(/expected config.json/);
});
