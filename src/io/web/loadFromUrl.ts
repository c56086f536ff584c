/**
 * Loading an HF-style checkpoint (config.json + model.safetensors) from a URL folder in the browser: no file
 * system, only fetch, the safetensors header parser and the fs-free config / key / layout helpers. With
 * `cache: true` (and IndexedDB present) the fetched files are kept in IndexedDB keyed by URL.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createMambaLM, findMambaLM } from '../../layers/factories';
import type { MambaConfig } from '../../layers/config';
import { parseCheckpointConfig } from '../hf/config';
import { matchKeys } from '../hf/keys';
import { toOurs } from '../hf/layout';
import { bf16BitsToFloat32, float16BitsToFloat32 } from '../safetensors/halfFloat';
import type { SafetensorsEntry } from '../safetensors/format';
import { cachedFile, cacheFile, hasIndexedDB } from './fileCache';
import { fetchOk, fetchSafetensors, FetchedSafetensors, parseSafetensorsBytes } from './fetchFile';

/** Options of {@link loadCheckpointFromUrl}. */
export interface LoadFromUrlOptions {
  /** Keep fetched files in IndexedDB and read them from there next time (default false). */
  cache?: boolean;
  /** Scan implementation of the loaded model (default 'auto'). */
  scanMode?: MambaConfig['scanMode'];
}

/** `base` + '/' + `name`, without doubling the slash. */
export function joinUrl(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/${name}`;
}

/** A tensor's values as float32, from F32, F16 or BF16 bytes. */
function readFloat32(bytes: Uint8Array, e: SafetensorsEntry, url: string): Float32Array {
  const raw = bytes.slice(e.begin, e.end).buffer; // aligned copy
  if (e.dtype === 'F32') return new Float32Array(raw);
  if (e.dtype === 'F16') return float16BitsToFloat32(new Uint16Array(raw));
  if (e.dtype === 'BF16') return bf16BitsToFloat32(new Uint16Array(raw));
  throw new Error(`${url}: tensor "${e.name}" expected F32, F16 or BF16, got ${e.dtype}`);
}

async function configText(url: string, cache: boolean): Promise<string> {
  if (cache) {
    const hit = await cachedFile(url);
    if (hit) return new TextDecoder().decode(hit);
  }
  const text = await (await fetchOk(url)).text();
  if (cache) await cacheFile(url, new TextEncoder().encode(text));
  return text;
}

async function weightsFile(url: string, cache: boolean): Promise<FetchedSafetensors> {
  if (cache) {
    const hit = await cachedFile(url);
    if (hit) return parseSafetensorsBytes(hit, url);
  }
  const file = await fetchSafetensors(url);
  if (cache) await cacheFile(url, file.bytes);
  return file;
}

/**
 * Fetches `<baseUrl>/config.json` and `<baseUrl>/model.safetensors` and builds the MambaLM LayersModel.
 * Bad sizes (header, Content-Length, truncated body) are refused with one line naming the URL.
 */
export async function loadCheckpointFromUrl(baseUrl: string, options: LoadFromUrlOptions = {}): Promise<LayersModel> {
  const cache = (options.cache ?? false) && hasIndexedDB();
  const configUrl = joinUrl(baseUrl, 'config.json');
  const weightsUrl = joinUrl(baseUrl, 'model.safetensors');
  const { args } = parseCheckpointConfig(await configText(configUrl, cache), configUrl);
  const file = await weightsFile(weightsUrl, cache);
  const source = {
    keys: () => [...file.entries.keys()],
    shape: (k: string) => (file.entries.get(k) as SafetensorsEntry).shape,
    fileOf: () => weightsUrl,
  };
  const model = createMambaLM({ ...args, scanMode: options.scanMode ?? 'auto', weightInit: 'zeros' });
  try {
    const weights = findMambaLM(model).weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], variable: w }));
    const keys = matchKeys(source, weights);
    for (const w of weights) {
      const e = file.entries.get(keys.get(w.name) as string) as SafetensorsEntry;
      const { data, shape } = toOurs(w.name, readFloat32(file.bytes, e, weightsUrl), e.shape);
      tf.tidy(() => {
        w.variable.write(tf.tensor(data, shape, 'float32'));
      });
    }
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}
