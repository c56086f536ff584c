/**
 * Browser entry of the model check: on a chosen tfjs backend (cpu, wasm, webgl), builds a MambaLM from the tiny
 * HF fixture fetched over http (config.json + model.safetensors, parsed with the project's safetensors header
 * parser and weight-layout code), then returns its logits for the reference's input ids, the next-token loss and
 * every weight's gradient on them, and its greedy tokens.
 * The comparison with reference.safetensors lives on the jest side (test/browser/model.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { parseCheckpointConfig } from '../../../src/io/hf/config';
import { parseSafetensorsHeader } from '../../../src/io/safetensors/format';
import { matchKeys } from '../../../src/io/hf/keys';
import { toOurs, toTorch } from '../../../src/io/hf/layout';
import { registerKernels } from '../../../src/ops/kernels/register';
import { lmLoss } from '../../../src/losses';
import { createMambaLM, findMambaLM } from '../../../src/layers/factories';
import { generate } from '../../../src/generation/generate';

registerKernels();

/** What the jest side asks for. */
export interface ModelRequest {
  backend: string;
  /** URL folder holding config.json and model.safetensors. */
  fixtureUrl: string;
  inputIds: { data: number[]; shape: [number, number] };
  prompt: number[][];
  maxNewTokens: number;
}

/** What the page answers. */
export interface ModelResult {
  backend: string;
  logits: { data: number[]; shape: number[] };
  sequences: number[][];
  /** Next-token loss on the input ids and its gradient per weight (torch layout, keyed by HF name). */
  loss: number;
  grads: Record<string, { data: number[]; shape: number[] }>;
  ms: { setBackend: number; load: number; forwardAndGrads: number; generate: number };
  leaked: number;
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`model page: expected 200 for ${url}, got ${r.status}`);
  return r;
}

/** The checkpoint as a MambaLM LayersModel: loadCheckpoint's steps, with bytes from fetch instead of fs. */
async function loadFixture(baseUrl: string): Promise<tf.LayersModel> {
  const { args } = parseCheckpointConfig(await (await fetchOk(`${baseUrl}/config.json`)).text(), `${baseUrl}/config.json`);
  const bytes = new Uint8Array(await (await fetchOk(`${baseUrl}/model.safetensors`)).arrayBuffer());
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const { entries } = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.length, 'model.safetensors');
  const source = {
    keys: () => [...entries.keys()],
    shape: (k: string) => (entries.get(k) as { shape: number[] }).shape,
    fileOf: () => `${baseUrl}/model.safetensors`,
  };
  const model = createMambaLM({ ...args, scanMode: 'auto', weightInit: 'zeros' });
  const weights = findMambaLM(model).weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], variable: w }));
  const keys = matchKeys(source, weights);
  for (const w of weights) {
    const e = entries.get(keys.get(w.name) as string);
    if (!e || e.dtype !== 'F32') throw new Error(`model page: expected an F32 tensor for ${w.name}, got ${e?.dtype ?? 'none'}`);
    const raw = new Float32Array(bytes.slice(e.begin, e.end).buffer);
    const { data, shape } = toOurs(w.name, raw, e.shape);
    tf.tidy(() => {
      w.variable.write(tf.tensor(data, shape, 'float32'));
    });
  }
  return model;
}

/**
 * One forward and backward pass: the logits (B, L, V), the loss of predicting ids[:, 1:] from ids[:, :-1] (the
 * reference's `loss`) and every weight's gradient.
 */
async function forwardAndGrads(model: tf.LayersModel, ids: tf.Tensor2D): Promise<Pick<ModelResult, 'logits' | 'loss' | 'grads'>> {
  const lm = findMambaLM(model);
  const [b, l] = ids.shape;
  const vars = lm.weights.map((w) => w.read() as tf.Variable);
  let logits: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = lm.call(ids, {}) as tf.Tensor; // (B, L, V)
    logits = tf.keep(out);
    const pred = tf.slice(out, [0, 0, 0], [b, l - 1, out.shape[2] as number]); // (B, L−1, V)
    const target = tf.slice(ids, [0, 1], [b, l - 1]); // (B, L−1)
    return lmLoss(target, pred);
  }, vars);
  const kept = logits as unknown as tf.Tensor; // (B, L, V)
  const result: Pick<ModelResult, 'logits' | 'loss' | 'grads'> = {
    logits: { data: Array.from(await kept.data()), shape: kept.shape }, loss: (await value.data())[0], grads: {},
  };
  for (const w of lm.weights) {
    const g = grads[(w.read() as tf.Variable).name];
    const torch = toTorch(w.originalName, (await g.data()) as Float32Array, g.shape);
    result.grads[w.originalName] = { data: Array.from(torch.data), shape: torch.shape };
  }
  tf.dispose([kept, value, ...Object.values(grads)]);
  return result;
}

/** Runs the request on its backend; JSON in and out (Playwright serializes large arrays slowly). */
async function run(requestJson: string): Promise<string> {
  const q = JSON.parse(requestJson) as ModelRequest;
  const t0 = performance.now();
  if (!(await tf.setBackend(q.backend))) throw new Error(`model page: tf.setBackend('${q.backend}') failed`);
  await tf.ready();
  const t1 = performance.now();
  const before = tf.memory().numTensors;
  const model = await loadFixture(q.fixtureUrl);
  const t2 = performance.now();
  const ids = tf.tensor2d(q.inputIds.data, q.inputIds.shape, 'int32'); // (B, L)
  const trained = await forwardAndGrads(model, ids);
  ids.dispose();
  const t3 = performance.now();
  // HF generate masked prompt tokens equal to the pad id 0; the same mask here (see test/generation/generate.test.ts).
  const attentionMask = q.prompt.map((r) => r.map((id) => (id === 0 ? 0 : 1)));
  const out = await generate(model, q.prompt, { maxNewTokens: q.maxNewTokens, temperature: 0, attentionMask });
  const t4 = performance.now();
  model.dispose();
  const result: ModelResult = {
    backend: tf.getBackend(),
    sequences: out.sequences,
    ...trained,
    ms: { setBackend: t1 - t0, load: t2 - t1, forwardAndGrads: t3 - t2, generate: t4 - t3 },
    leaked: tf.memory().numTensors - before,
  };
  return JSON.stringify(result);
}

setWasmPaths('/wasm/');
Object.assign(globalThis, { modelChecks: { run }, harnessReady: true });
