/**
 * The tiny HF fixture in real headless Chromium on the cpu, wasm, webgl and webgpu (SwiftShader) backends: the page fetches
 * config.json and model.safetensors over http from 127.0.0.1, builds a MambaLM, and its logits (1e-4), next-token
 * loss (1e-5 relative), weight gradients (2e-5 relative) and greedy tokens must match the fixture's reference.safetensors.
 */
import * as path from 'path';
import { openHarnessPage, PageSession } from './harness/session';
import { Route, TYPES } from './harness/server';
import { fixtureDir, openReference } from '../helpers/fixtures';
import { maxAbs, maxAbsDiff } from '../helpers/close';
import type { ModelRequest, ModelResult } from './pages/model';

/** The fixture served to the page (change the fixture root in test/helpers/fixtures.ts). */
const FIXTURE = 'tiny-hf' as const;
const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu'] as const;
const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Gradient bound: max|ours − ref| / max|ref| per weight (float32 vs the float64 reference). */
const GRAD_RTOL = 2e-5;

type Page = { modelChecks: { run(requestJson: string): Promise<string> } };

function rows(data: Int32Array, [b, l]: number[]): number[][] {
  return Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * l, (i + 1) * l)));
}

describe(`${FIXTURE} in headless Chromium`, () => {
  let s: PageSession;
  let request: ModelRequest;
  let refLogits: { data: Float32Array; shape: number[] };
  let refSequences: number[][];
  let refLoss: number;
  const refGrads = new Map<string, { data: Float32Array; shape: number[] }>();
  const t0 = Date.now();

  beforeAll(async () => {
    const ref = await openReference(FIXTURE);
    try {
      const ids = await ref.int('input_ids');
      const prompt = await ref.int('generate.prompt');
      const seq = await ref.int('generate.sequences');
      refLogits = await ref.float('logits');
      refSequences = rows(seq.data, seq.shape);
      refLoss = (await ref.float('loss')).data[0];
      for (const k of ref.keys().filter((key) => key.startsWith('grad.'))) refGrads.set(k.slice('grad.'.length), await ref.float(k));
      request = {
        backend: '', fixtureUrl: '/fixture',
        inputIds: { data: Array.from(ids.data), shape: ids.shape as [number, number] },
        prompt: rows(prompt.data, prompt.shape), maxNewTokens: seq.shape[1] - prompt.shape[1],
      };
    } finally {
      await ref.file.close();
    }
    const routes = new Map<string, Route>();
    for (const f of ['config.json', 'model.safetensors']) routes.set(`/fixture/${f}`, { type: TYPES.bin, file: path.join(fixtureDir(FIXTURE), f) });
    for (const f of WASM_FILES) routes.set(`/wasm/${f}`, { type: TYPES.wasm, file: path.join(WASM_DIR, f) });
    s = await openHarnessPage('model', routes);
  }, 90000);

  afterAll(async () => {
    await s?.close();
    console.log(`model.test: ${((Date.now() - t0) / 1000).toFixed(1)} s in all (bundle ${s?.timings.bundle} ms, browser open ${s?.timings.open} ms); served: ${[...new Set(s?.server.log)].join(', ')}`);
  });

  test.each(BACKENDS)('%s: logits within 1e-4, loss and gradients close to the reference, greedy tokens equal', async (backend) => {
    const t = Date.now();
    let json: string;
    try {
      json = await s.page.evaluate((q) => (globalThis as unknown as Page).modelChecks.run(q), JSON.stringify({ ...request, backend }));
    } catch (e) {
      throw new Error(`model.test.ts: the page failed on ${backend}: ${(e as Error).message}\nconsole:\n${s.console.join('\n')}`);
    }
    const r = JSON.parse(json) as ModelResult;
    const err = maxAbsDiff(r.logits.data, refLogits.data);
    const lossErr = Math.abs(r.loss - refLoss) / Math.abs(refLoss);
    let gradErr = 0;
    let gradWorst = '';
    for (const [name, g] of refGrads) {
      const ours = r.grads[name];
      expect(ours?.shape).toEqual(g.shape);
      const e = maxAbsDiff(ours.data, g.data) / maxAbs(g.data);
      if (!(e <= gradErr)) [gradErr, gradWorst] = [e, name];
    }
    console.log(`${backend}: ${Date.now() - t} ms (${JSON.stringify(Object.fromEntries(Object.entries(r.ms).map(([k, v]) => [k, Math.round(v)])))}), max |logits − ref| ${err.toExponential(2)}, loss rel. error ${lossErr.toExponential(2)}, worst grad rel. error ${gradErr.toExponential(2)} (${gradWorst})`);
    expect(r.backend).toBe(backend);
    expect(r.logits.shape).toEqual(refLogits.shape);
    expect(err).toBeLessThanOrEqual(1e-4);
    expect(lossErr).toBeLessThanOrEqual(1e-5);
    expect(Object.keys(r.grads).sort()).toEqual([...refGrads.keys()].sort());
    expect(gradErr).toBeLessThanOrEqual(GRAD_RTOL);
    expect(r.sequences).toEqual(refSequences);
    expect(r.leaked).toBe(0);
  }, 150000); // ~40 s for webgpu at load 8 on 2 cores
});
