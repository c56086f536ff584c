/**
 * loadCheckpointFromUrl and loadTokenizerFromUrl in headless Chromium: the tiny HF fixture served over http from
 * 127.0.0.1 loads to logits within 1e-4 of the reference; with `cache: true` a second load reads IndexedDB (the
 * server sees no second request); a truncated model.safetensors is refused with one line; the GPT-NeoX tokenizer
 * fetched over http encodes as the Node loader does.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openHarnessPage, PageSession } from './harness/session';
import { Route, TYPES } from './harness/server';
import { fixtureDir, openReference, TOKENIZER_JSON } from '../helpers/fixtures';
import { maxAbsDiff } from '../helpers/close';
import { loadTokenizer } from '../../src/io/tokenizer/tokenizer';
import type { WebRequest } from './pages/web';

type Page = {
  webChecks: {
    load(q: string): Promise<string>;
    loadError(baseUrl: string): Promise<string>;
    tokenize(url: string, text: string): Promise<string>;
    clearFileCache(): Promise<void>;
  };
};

const TEXT = 'Mamba in the browser: selective state spaces, 2 × faster?';

describe('loading from a URL in headless Chromium', () => {
  let s: PageSession;
  let request: WebRequest;
  let refLogits: { data: Float32Array; shape: number[] };

  beforeAll(async () => {
    const ref = await openReference('tiny-hf');
    try {
      const ids = await ref.int('input_ids');
      refLogits = await ref.float('logits');
      request = { baseUrl: '/fixture/', cache: false, inputIds: { data: Array.from(ids.data), shape: ids.shape as [number, number] } };
    } finally {
      await ref.file.close();
    }
    const dir = fixtureDir('tiny-hf');
    const routes = new Map<string, Route>();
    for (const f of ['config.json', 'model.safetensors']) routes.set(`/fixture/${f}`, { type: TYPES.bin, file: path.join(dir, f) });
    const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));
    routes.set('/truncated/config.json', { type: TYPES.json, file: path.join(dir, 'config.json') });
    routes.set('/truncated/model.safetensors', { type: TYPES.bin, body: new Uint8Array(weights.subarray(0, weights.length - 100)) });
    routes.set('/tok/tokenizer.json', { type: TYPES.json, file: TOKENIZER_JSON });
    s = await openHarnessPage('web', routes);
  }, 90000);

  afterAll(async () => {
    await s?.close();
  });

  /** Calls webChecks[name](...args) in the page. */
  const call = <T>(name: keyof Page['webChecks'], ...args: string[]): Promise<T> =>
    s.page.evaluate(([n, a]) => ((globalThis as unknown as Page).webChecks[n as keyof Page['webChecks']] as (...x: string[]) => Promise<T>)(...(a as string[])), [name, args] as const) as Promise<T>;
  const requests = (p: string): number => s.server.log.filter((l) => l === `${p} 200`).length;

  test('loads the fixture over http to logits within 1e-4 of the reference, leaking no tensor', async () => {
    const r = JSON.parse(await call<string>('load', JSON.stringify(request))) as { logits: { data: number[]; shape: number[] }; leaked: number };
    expect(r.logits.shape).toEqual(refLogits.shape);
    expect(maxAbsDiff(r.logits.data, refLogits.data)).toBeLessThanOrEqual(1e-4);
    expect(r.leaked).toBe(0);
  }, 60000);

  test('with cache: true, the second load comes from IndexedDB (no request) and gives the same logits', async () => {
    await call<void>('clearFileCache');
    const q = JSON.stringify({ ...request, cache: true });
    const before = requests('/fixture/model.safetensors');
    const first = JSON.parse(await call<string>('load', q)) as { logits: { data: number[] } };
    expect(requests('/fixture/model.safetensors')).toBe(before + 1);
    const configs = requests('/fixture/config.json');
    const second = JSON.parse(await call<string>('load', q)) as { logits: { data: number[] } };
    expect(requests('/fixture/model.safetensors')).toBe(before + 1);
    expect(requests('/fixture/config.json')).toBe(configs);
    expect(second.logits.data).toEqual(first.logits.data);
    expect(maxAbsDiff(second.logits.data, refLogits.data)).toBeLessThanOrEqual(1e-4);
  }, 60000);

  test('a truncated model.safetensors is refused with one line naming the URL and the sizes', async () => {
    const msg = await call<string>('loadError', '/truncated');
    expect(msg).toContain('/truncated/model.safetensors');
    expect(msg).toMatch(/run past the end of the file|expected \d+ bytes/);
    expect(msg).not.toContain('\n');
  }, 60000);

  test('a missing checkpoint is refused with the URL and the HTTP status', async () => {
    const msg = await call<string>('loadError', '/nowhere');
    expect(msg).toBe('/nowhere/config.json: expected HTTP 200, got 404 Not Found');
  }, 60000);

  test('the GPT-NeoX tokenizer fetched over http encodes and decodes as the Node loader does', async () => {
    const node = await loadTokenizer(TOKENIZER_JSON);
    const r = JSON.parse(await call<string>('tokenize', '/tok/tokenizer.json', TEXT)) as { ids: number[]; text: string; vocabSize: number; eos: number | null };
    expect(r.ids).toEqual(node.encode(TEXT));
    expect(r.ids.length).toBeGreaterThan(5);
    expect(r.text).toBe(TEXT);
    expect(r.vocabSize).toBe(node.vocabSize);
    expect(r.eos).toBe(node.eosTokenId);
  }, 60000);
});
