/**
 * generate: greedy decoding equals the reference's (sequences exactly, scores within 1e-4); sampling is
 * reproducible and degenerates to greedy as it should; no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src/io/hf/loadCheckpoint';
import { findMambaLM } from '../../src/layers/factories';
import { generate } from '../../src/generation/generate';
import { expectAllClose } from '../helpers/close';
import { FIXTURE_NAMES, fixtureDir, openReference } from '../helpers/fixtures';
import { expectScoresClose } from '../helpers/generated';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A (B, L) int tensor's data as rows. */
function asRows(data: Int32Array, shape: number[]): number[][] {
  const [b, l] = shape;
  return Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * l, (i + 1) * l)));
}

describe.each(FIXTURE_NAMES)('generate on %s', (fixture) => {
  let model: tf.LayersModel;
  let prompt: number[][];
  let sequences: number[][];
  let scores: { data: Float32Array; shape: number[] };

  beforeAll(async () => {
    model = await loadCheckpoint(fixtureDir(fixture));
    const ref = await openReference(fixture);
    const p = await ref.int('generate.prompt');
    const s = await ref.int('generate.sequences');
    prompt = asRows(p.data, p.shape);
    sequences = asRows(s.data, s.shape);
    scores = await ref.float('generate.scores');
    await ref.file.close();
  });

  afterAll(() => model.dispose());

  test('greedy reproduces the reference sequences and scores (whole batch)', async () => {
    const before = tf.memory().numTensors;
    const steps = scores.shape[1];
    // The reference called HF generate with pad_token_id=0 and no eos, so HF masked every prompt token equal
    // to 0 (tiny-orig's prompt has one); the same mask here.
    const attentionMask = prompt.map((r) => r.map((id) => (id === 0 ? 0 : 1)));
    const out = await generate(model, prompt, { maxNewTokens: steps, temperature: 0, returnScores: true, attentionMask });
    expect(out.sequences).toEqual(sequences);
    expectScoresClose(out.scores as Float32Array[], scores, 1e-4, fixture);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a tf.Tensor2D prompt and the MambaLM layer itself work too', async () => {
    const ids = tf.tensor2d(prompt, undefined, 'int32');
    const mask = tf.tensor2d(prompt.map((r) => r.map((id) => (id === 0 ? 0 : 1))), undefined, 'int32');
    const out = await generate(findMambaLM(model), ids, { maxNewTokens: 4, temperature: 'greedy', attentionMask: mask });
    tf.dispose([ids, mask]);
    expect(out.sequences).toEqual(sequences.map((r) => r.slice(0, prompt[0].length + 4)));
  });

  test('greedy row by row equals greedy in a batch', async () => {
    for (const [i, row] of prompt.entries()) {
      const out = await generate(model, [row], { maxNewTokens: 16, temperature: 0, attentionMask: [row.map((id) => (id === 0 ? 0 : 1))] });
      expect(out.sequences[0]).toEqual(sequences[i]);
    }
  });
});

describe('sampling', () => {
  let model: tf.LayersModel;
  const prompt = [
    [997, 305, 193, 873, 398],
    [164, 354, 990, 571, 200],
  ];

  beforeAll(async () => {
    model = await loadCheckpoint(fixtureDir('tiny-hf'));
  });

  afterAll(() => model.dispose());

  test('equal seeds give equal samples, other seeds other samples', async () => {
    const run = (seed: number) => generate(model, prompt, { maxNewTokens: 12, temperature: 1.5, seed });
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a.sequences).toEqual(b.sequences);
    expect(c.sequences).not.toEqual(a.sequences);
    for (const row of a.sequences) for (const id of row) expect(id).toBeLessThan(1000);
  });

  test('topK = 1 and a tiny topP equal greedy', async () => {
    const greedy = await generate(model, prompt, { maxNewTokens: 10, temperature: 0 });
    const topK = await generate(model, prompt, { maxNewTokens: 10, temperature: 2, topK: 1, seed: 3 });
    const topP = await generate(model, prompt, { maxNewTokens: 10, temperature: 2, topP: 1e-6, seed: 4 });
    expect(topK.sequences).toEqual(greedy.sequences);
    expect(topP.sequences).toEqual(greedy.sequences);
  });

  test('stop tokens: a row stops after its stop token and is padded; all stopped ends the loop', async () => {
    const greedy = await generate(model, prompt, { maxNewTokens: 6, temperature: 0 });
    const stop = greedy.sequences[0][5]; // row 0's first new token (398)
    const out = await generate(model, prompt, { maxNewTokens: 6, temperature: 0, stopTokens: [stop], padTokenId: 1 });
    expect(out.stopped).toEqual([true, greedy.sequences[1].slice(5).includes(stop)]);
    expect(out.sequences[0]).toEqual([...prompt[0], stop, 1, 1, 1, 1, 1]);
    expect(out.sequences[1]).toEqual(greedy.sequences[1]);
    const both = await generate(model, [prompt[0], prompt[0]], { maxNewTokens: 6, temperature: 0, stopTokens: [stop] });
    expect(both.sequences).toEqual([[...prompt[0], stop], [...prompt[0], stop]]);
    expect(both.stopped).toEqual([true, true]);
  });

  test('streaming: onToken sees every step, and no tensor is left behind', async () => {
    const before = tf.memory().numTensors;
    const seen: number[][] = [];
    const out = await generate(model, prompt, {
      maxNewTokens: 8, temperature: 0.8, topK: 50, topP: 0.9, seed: 11,
      onToken: async (tokens, step) => {
        expect(step).toBe(seen.length);
        seen.push(tokens);
      },
    });
    expect(seen).toHaveLength(8);
    out.sequences.forEach((row, i) => expect(row.slice(5)).toEqual(seen.map((s) => s[i])));
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an error thrown by onToken propagates and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    await expect(generate(model, prompt, { maxNewTokens: 5, temperature: 0, onToken: (_t, step) => {
      if (step === 2) throw new Error('stop here');
    } })).rejects.toThrow('stop here');
    expect(tf.memory().numTensors).toBe(before);
  });

  test('errors name what was expected', async () => {
    await expect(generate(model, [[1, 2], [3]], { maxNewTokens: 2, attentionMask: [[1, 1], [1, 1]] })).rejects.toThrow(/expected an attentionMask shaped like the prompts \[2,1\], got \[2,2\]/);
    await expect(generate(model, [[1, 2]], { maxNewTokens: 2, attentionMask: [[1, 2]] })).rejects.toThrow(/attentionMask of 0s and 1s/);
    await expect(generate(model, [[1, 1000]], { maxNewTokens: 2 })).rejects.toThrow(/expected token ids in \[0, 1000\), got 1000 at row 0, position 1/);
    await expect(generate(model, [[1]], { maxNewTokens: -1 })).rejects.toThrow(/expected maxNewTokens to be a non-negative integer, got -1/);
    await expect(generate(model, [[1]], { maxNewTokens: 2, temperature: -1 })).rejects.toThrow(/expected temperature > 0/);
    await expect(generate(model, [[1]], { maxNewTokens: 2, topP: 1.5 })).rejects.toThrow(/expected 0 < topP <= 1, got 1.5/);
    await expect(generate(model, [[1], []], { maxNewTokens: 2 })).rejects.toThrow(/at least one token, got an empty prompt at row 1/);
  });

  test('prompts of different lengths are left-padded and masked: each row continues as it would alone', async () => {
    const before = tf.memory().numTensors;
    const ragged = [[997, 305, 193, 873, 398, 12, 13], [164, 354], [77, 78, 79, 80]];
    const out = await generate(model, ragged, { maxNewTokens: 8, temperature: 0, padTokenId: 5, returnScores: true });
    for (const [i, row] of ragged.entries()) {
      const alone = await generate(model, [row], { maxNewTokens: 8, temperature: 0, returnScores: true });
      expect(out.sequences[i]).toEqual([...new Array(7 - row.length).fill(5), ...alone.sequences[0]]);
      for (let t = 0; t < 8; t++) {
        const v = 1000;
        expectAllClose((out.scores as Float32Array[])[t].subarray(i * v, (i + 1) * v), (alone.scores as Float32Array[])[t], 1e-4, `row ${i} step ${t}`);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('maxNewTokens 0 returns the prompts', async () => {
    const out = await generate(model, prompt, { maxNewTokens: 0 });
    expect(out.sequences).toEqual(prompt);
  });
});
