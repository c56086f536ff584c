/**
 * Browser entry of the URL-loading check: loads a checkpoint through loadCheckpointFromUrl (optionally cached in
 * IndexedDB) on the cpu backend and returns its logits for given input ids; loads a tokenizer through
 * loadTokenizerFromUrl and returns its ids for a text. The comparisons live in test/browser/web.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpointFromUrl, clearFileCache } from '../../../src/index';
import { loadTokenizerFromUrl } from '../../../src/web';

/** What the jest side asks for. */
export interface WebRequest {
  baseUrl: string;
  cache: boolean;
  inputIds: { data: number[]; shape: [number, number] };
}

async function load(requestJson: string): Promise<string> {
  const q = JSON.parse(requestJson) as WebRequest;
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const model = await loadCheckpointFromUrl(q.baseUrl, { cache: q.cache });
  const logits = tf.tidy(() => model.predict(tf.tensor2d(q.inputIds.data, q.inputIds.shape, 'int32')) as tf.Tensor); // (B, L, V)
  const out = { data: Array.from(await logits.data()), shape: logits.shape };
  logits.dispose();
  model.dispose();
  return JSON.stringify({ logits: out, leaked: tf.memory().numTensors - before });
}

/** The error line of a load that must fail, or '' when it did not fail. */
async function loadError(baseUrl: string): Promise<string> {
  try {
    (await loadCheckpointFromUrl(baseUrl)).dispose();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

async function tokenize(url: string, text: string): Promise<string> {
  const tok = await loadTokenizerFromUrl(url);
  const ids = tok.encode(text);
  return JSON.stringify({ ids, text: tok.decode(ids), vocabSize: tok.vocabSize, eos: tok.eosTokenId });
}

Object.assign(globalThis, { webChecks: { load, loadError, tokenize, clearFileCache }, harnessReady: true });
