/**
 * An IndexedDB cache of fetched files, keyed by URL: the browser loaders keep config.json and model.safetensors
 * here so that a second load of the same checkpoint reads no network. No-ops where indexedDB does not exist.
 */

const DB_NAME = 'mamba-tfjs-files';
const STORE = 'files';

/** Whether this environment has IndexedDB. */
export function hasIndexedDB(): boolean {
  return typeof indexedDB !== 'undefined';
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`fileCache: cannot open IndexedDB ${DB_NAME} (${req.error?.message ?? 'unknown error'})`));
  });
}

async function withStore<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(new Error(`fileCache: IndexedDB ${mode} failed (${tx.error?.message ?? 'unknown error'})`));
    });
  } finally {
    db.close();
  }
}

/** The cached bytes of `url`, or null when absent. */
export async function cachedFile(url: string): Promise<Uint8Array | null> {
  const v = await withStore<ArrayBuffer | undefined>('readonly', (s) => s.get(url));
  return v instanceof ArrayBuffer ? new Uint8Array(v) : null;
}

/** Stores `bytes` under `url` (a copy of exactly those bytes). */
export async function cacheFile(url: string, bytes: Uint8Array): Promise<void> {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  await withStore<unknown>('readwrite', (s) => s.put(copy, url));
}

/** Removes every cached file. */
export async function clearFileCache(): Promise<void> {
  if (hasIndexedDB()) await withStore<unknown>('readwrite', (s) => s.clear());
}
