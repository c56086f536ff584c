/**
 * Browser entry of the model check: on a chosen tfjs backend (cpu, wasm, webgl), builds a MambaLM from the tiny
 * HF fixture fetched over http (config.json + model.safetensors, parsed with the project's safetensors header
 * parser and weight-layout code), then returns its logits for the reference's input ids and its greedy tokens.
 * The comparison with reference.safetensors lives on the jest side (test/browser/model.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { parseCheckpointConfig } from '../../../src/io/checkpointConfig';
import { parseSafetensorsHeader } from '../../../src/io/safetensors';
import { matchKeys } from '../../../src/io/matchKeys';
import { toOurs } from '../../../src/io/weightLayout';
import { createMambaLM, findMambaLM } from '../../../src/layers/factories';
import { generate } from '../../../src/generation/generate';

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
  ms: { setBackend: number; load: number; forward: number; generate: number };
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
  const { hidden, logits } = findMambaLM(model).forwardWithHidden(ids); // logits (B, L, V)
  const logitsData = Array.from(await logits.data());
  const logitsShape = logits.shape;
  tf.dispose([ids, ...hidden, logits]);
  const t3 = performance.now();
  // HF generate masked prompt tokens equal to the pad id 0; the same mask here (see test/generation/generate.test.ts).
  const attentionMask = q.prompt.map((r) => r.map((id) => (id === 0 ? 0 : 1)));
  const out = await generate(model, q.prompt, { maxNewTokens: q.maxNewTokens, temperature: 0, attentionMask });
  const t4 = performance.now();
  model.dispose();
  const result: ModelResult = {
    backend: tf.getBackend(),
    logits: { data: logitsData, shape: logitsShape },
    sequences: out.sequences,
    ms: { setBackend: t1 - t0, load: t2 - t1, forward: t3 - t2, generate: t4 - t3 },
    leaked: tf.memory().numTensors - before,
  };
  return JSON.stringify(result);
}

setWasmPaths('/wasm/');
Object.assign(globalThis, { modelChecks: { run }, harnessReady: true });
