/**
 * Fetching checkpoint files in the browser: a checked GET, and a streamed safetensors download that reads the
 * header first (validated by the format parser), then the tensor data into one buffer of the declared size.
 */
import { MAX_HEADER_BYTES, parseSafetensorsHeader, SafetensorsEntry } from '../safetensors/format';

/** A fetched safetensors file: its bytes and the parsed header. */
export interface FetchedSafetensors {
  /** The whole file's bytes. */
  bytes: Uint8Array;
  /** The header's tensors by name: dtype, shape and byte range (checked against the file's size). */
  entries: Map<string, SafetensorsEntry>;
  /** The header's `__metadata__` strings. */
  metadata: Record<string, string>;
}

/** GET `url`, refusing any status but 2xx with one line naming the URL. */
export async function fetchOk(url: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`${url}: fetch failed (${(e as Error).message})`);
  }
  if (!r.ok) throw new Error(`${url}: expected HTTP 200, got ${r.status} ${r.statusText}`.trimEnd());
  return r;
}

/** Joins chunks into one array. */
function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The file size a header implies: data start plus the end of the last tensor. */
function impliedSize(headerBytes: Uint8Array): number {
  const json = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<string, { data_offsets?: unknown }>;
  let end = 0;
  for (const [k, v] of Object.entries(json)) {
    const offsets = k === '__metadata__' ? null : v?.data_offsets;
    if (Array.isArray(offsets) && typeof offsets[1] === 'number') end = Math.max(end, offsets[1]);
  }
  return 8 + headerBytes.length + end;
}

/** Parses a complete safetensors file held in memory. */
export function parseSafetensorsBytes(bytes: Uint8Array, url: string): FetchedSafetensors {
  if (bytes.length < 8) throw new Error(`${url}: expected a safetensors file (8-byte header length first), got ${bytes.length} bytes`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) {
    throw new Error(`${url}: header length ${headerLen} does not fit the ${bytes.length}-byte file (limit ${MAX_HEADER_BYTES})`);
  }
  const { entries, metadata } = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.length, url);
  return { bytes, entries, metadata };
}

/**
 * Streams a safetensors file: header length and header first (refused before any tensor data is read when the
 * header is bad or disagrees with Content-Length), then the data into a buffer of exactly the declared size.
 */
export async function fetchSafetensors(url: string): Promise<FetchedSafetensors> {
  const r = await fetchOk(url);
  if (!r.body) return parseSafetensorsBytes(new Uint8Array(await r.arrayBuffer()), url);
  const reader = r.body.getReader();
  const declared = r.headers.get('content-length');
  const chunks: Uint8Array[] = [];
  let got = 0;
  let headerLen = -1;
  let size = -1;
  let out: Uint8Array | null = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (out) {
      if (got + value.length > size) {
        await reader.cancel();
        throw new Error(`${url}: expected ${size} bytes (from the header), the server sent more`);
      }
      out.set(value, got);
      got += value.length;
      continue;
    }
    chunks.push(value);
    got += value.length;
    if (headerLen < 0 && got >= 8) {
      headerLen = Number(new DataView(concat(chunks, got).buffer, 0, 8).getBigUint64(0, true));
      if (headerLen > MAX_HEADER_BYTES) {
        await reader.cancel();
        throw new Error(`${url}: header length ${headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
      }
    }
    if (headerLen >= 0 && got >= 8 + headerLen) {
      const head = concat(chunks, got);
      const headerBytes = head.subarray(8, 8 + headerLen);
      try {
        size = declared !== null ? Number(declared) : impliedSize(headerBytes);
      } catch {
        size = got; // the parser below names the problem
      }
      parseSafetensorsHeader(headerBytes, size, url);
      if (got > size) throw new Error(`${url}: expected ${size} bytes, the server sent more`);
      out = new Uint8Array(size);
      out.set(head);
    }
  }
  if (!out) throw new Error(`${url}: expected a safetensors file, the stream ended after ${got} bytes (header incomplete)`);
  if (got !== size) throw new Error(`${url}: expected ${size} bytes, got ${got} (truncated download?)`);
  return parseSafetensorsBytes(out, url);
}
