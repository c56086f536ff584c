/**
 * Browser entry of the fused webgpu decoder check (test/browser/decode.test.ts): a seeded random MambaLM decodes
 * on webgpu through the fused decoder (src/ops/kernels/webgpu/decoder.ts) and through tfjs ops (flag off), and on cpu.
 * Returns the step logits (returnScores), the parallel forward's logits over the same sequence, greedy tokens and
 * seeded samples of each path; the comparisons live on the jest side.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { registerKernels } from '../../../src/ops/kernels/register';
import { createMambaLM, findMambaLM } from '../../../src/layers/factories';
import { generate } from '../../../src/generation/generate';
import { WEBGPU_FUSED_DECODE_FLAG } from '../../../src/flags';

registerKernels();

/** What the jest side asks for. */
export interface DecodeRequest {
  config: { vocabSize: number; dModel: number; nLayers: number; dState?: number; seed: number; bias?: boolean; convBias?: boolean };
  prompt: number[][];
  maxNewTokens: number;
}

/** One decoding path's output. */
export interface PathResult {
  greedy: number[][];
  sampled: number[][];
  /** Per step, the logits (B·V) of returnScores. */
  scores: number[][];
}

/** What the page answers. */
export interface DecodeResult {
  fused: PathResult;
  tfjs: PathResult;
  cpu: PathResult;
  /** The parallel forward's logits over fused.greedy (B, L, V), on webgpu. */
  forward: { data: number[]; shape: number[] };
  leaked: number;
}

async function decodePath(q: DecodeRequest, model: tf.LayersModel): Promise<PathResult> {
  const greedy = await generate(model, q.prompt, { maxNewTokens: q.maxNewTokens, temperature: 0 });
  const scored = await generate(model, q.prompt, { maxNewTokens: q.maxNewTokens, temperature: 0, returnScores: true });
  const sampled = await generate(model, q.prompt, { maxNewTokens: q.maxNewTokens, temperature: 0.9, topK: 20, topP: 0.95, seed: 7 });
  return { greedy: greedy.sequences, sampled: sampled.sequences, scores: (scored.scores ?? []).map((s) => Array.from(s)) };
}

async function onBackend(backend: string, q: DecodeRequest, fused: boolean): Promise<{ r: PathResult; forward?: DecodeResult['forward'] }> {
  if (!(await tf.setBackend(backend))) throw new Error(`decode page: tf.setBackend('${backend}') failed`);
  await tf.ready();
  tf.env().set(WEBGPU_FUSED_DECODE_FLAG, fused);
  const model = createMambaLM(q.config);
  try {
    const r = await decodePath(q, model);
    if (!fused) return { r };
    const seq = r.greedy;
    const logits = tf.tidy(() => findMambaLM(model).call(tf.tensor2d(seq, [seq.length, seq[0].length], 'int32'), {}) as tf.Tensor); // (B, L, V)
    const forward = { data: Array.from(await logits.data()), shape: logits.shape };
    logits.dispose();
    return { r, forward };
  } finally {
    model.dispose();
  }
}

/** Runs the three paths; JSON in and out. */
async function run(requestJson: string): Promise<string> {
  const q = JSON.parse(requestJson) as DecodeRequest;
  await tf.setBackend('webgpu');
  const before = tf.memory().numTensors;
  const fused = await onBackend('webgpu', q, true);
  const tfjs = await onBackend('webgpu', q, false);
  tf.env().set(WEBGPU_FUSED_DECODE_FLAG, true);
  const leaked = tf.memory().numTensors - before;
  const cpu = await onBackend('cpu', q, false);
  const result: DecodeResult = { fused: fused.r, tfjs: tfjs.r, cpu: cpu.r, forward: fused.forward as DecodeResult['forward'], leaked };
  return JSON.stringify(result);
}

Object.assign(globalThis, { decodeChecks: { run }, harnessReady: true });
