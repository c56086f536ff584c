/**
 * Attention masks on Mamba-2 (#15), as Mamba-1 has them: a left-padded, masked batch continues each row exactly as
 * that row would alone. The mixer zeroes its conv input and output at masked positions, so the SSD state stays zero
 * through the padding and the conv cache holds no trace of it. Checked on tiny-mamba2-hf (2 groups, chunk 16: the
 * padded batch crosses a chunk boundary where the rows alone do not) in both scans, and on a random model with
 * in_proj / out_proj biases (where masking the block's input before in_proj, as HF does, would leave the bias in
 * the conv's window).
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { createMamba2LM, findMamba2LM } from '../../src/layers/mamba2/factories';
import { generate } from '../../src/generation/generate';
import { expectAllClose } from '../helpers/close';
import { fixtureDir } from '../helpers/fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Ragged prompts (lengths 19, 3, 9), the longest crossing a chunk of 16. */
const RAGGED = [
  [997, 305, 193, 873, 398, 12, 13, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55],
  [164, 354, 7],
  [77, 78, 79, 80, 81, 82, 83, 84, 85],
];
const PAD = 5;
const STEPS = 8;

/** Generates the ragged batch and each row alone; the padded rows must equal the lone ones, token and score. */
async function expectRowsAsAlone(model: tf.LayersModel, vocab: number, prompts: number[][]): Promise<void> {
  const before = tf.memory().numTensors;
  const l = Math.max(...prompts.map((r) => r.length));
  const out = await generate(model, prompts, { maxNewTokens: STEPS, temperature: 0, padTokenId: PAD, returnScores: true });
  for (const [i, row] of prompts.entries()) {
    const alone = await generate(model, [row], { maxNewTokens: STEPS, temperature: 0, returnScores: true });
    expect(out.sequences[i]).toEqual([...new Array(l - row.length).fill(PAD), ...alone.sequences[0]]);
    for (let t = 0; t < STEPS; t++) {
      const ours = (out.scores as Float32Array[])[t].subarray(i * vocab, (i + 1) * vocab);
      expectAllClose(ours, (alone.scores as Float32Array[])[t], 1e-4, `row ${i} step ${t}`);
    }
  }
  // The explicit mask gives the same as the automatic one.
  const padded = prompts.map((r) => [...new Array(l - r.length).fill(PAD), ...r]);
  const mask = prompts.map((r) => [...new Array(l - r.length).fill(0), ...new Array(r.length).fill(1)]);
  const explicit = await generate(model, padded, { maxNewTokens: STEPS, temperature: 0, padTokenId: PAD, attentionMask: mask });
  expect(explicit.sequences).toEqual(out.sequences);
  expect(tf.memory().numTensors).toBe(before);
}

describe.each(['chunked', 'sequential'] as const)('tiny-mamba2-hf, %s scan', (scanMode) => {
  let model: tf.LayersModel;
  beforeAll(async () => {
    model = await loadCheckpoint(fixtureDir('tiny-mamba2-hf'), { scanMode });
  });
  afterAll(() => model.dispose());

  test('a left-padded batch gives each row the tokens (and scores within 1e-4) it gets alone', async () => {
    await expectRowsAsAlone(model, findMamba2LM(model).paddedVocab, RAGGED);
  }, 120_000);

  test('a left-padded, masked prefill leaves the cache of the unpadded prompt', () => {
    const lm = findMamba2LM(model);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const row = RAGGED[2];
      const alone = lm.prefillLast(tf.tensor2d([row], [1, row.length], 'int32')); // (1, V)
      const pads = 20 - row.length;
      const ids = tf.tensor2d([[...new Array(pads).fill(PAD), ...row]], [1, 20], 'int32'); // (1, 20)
      const mask = tf.tensor2d([[...new Array(pads).fill(0), ...new Array(row.length).fill(1)]]); // (1, 20)
      const padded = lm.prefillLast(ids, mask); // (1, V)
      expectAllClose(padded.logits.dataSync(), alone.logits.dataSync(), 1e-5, 'padded logits');
      alone.cache.forEach((c, i) => {
        expectAllClose(padded.cache[i].ssm.dataSync(), c.ssm.dataSync(), 1e-5, `ssm cache ${i}`);
        expectAllClose(padded.cache[i].conv.dataSync(), c.conv.dataSync(), 1e-5, `conv cache ${i}`);
      });
      // Without the mask the padding does reach the state: the test can tell.
      const unmasked = lm.prefillLast(ids);
      const diff = tf.max(tf.abs(tf.sub(unmasked.cache[0].ssm, alone.cache[0].ssm))).dataSync()[0];
      expect(diff).toBeGreaterThan(1e-3);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

test('with in_proj and out_proj biases (random model, 2 groups, chunk 4): each padded row as alone', async () => {
  const model = createMamba2LM({ vocabSize: 1000, dModel: 16, nLayers: 2, dState: 8, headDim: 8, nGroups: 2, chunkSize: 4, bias: true, seed: 11 });
  try {
    await expectRowsAsAlone(model, findMamba2LM(model).paddedVocab, RAGGED);
  } finally {
    model.dispose();
  }
}, 120_000);
