/**
 * A static HTTP server on 127.0.0.1 (ephemeral port) for the browser tests: serves a fixed route table
 * of in-memory bodies or files, nothing else (404), and records every request it answered.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';

/** One route: a body in memory or a file on disk, with its content type. */
export type Route = { type: string; body: string | Uint8Array } | { type: string; file: string };

/** A running server. */
export interface StaticServer {
  /** Origin, e.g. http://127.0.0.1:41234 */
  origin: string;
  /** Paths served so far, with their status codes. */
  log: string[];
  close(): Promise<void>;
}

/** Content types by extension. */
export const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
  wasm: 'application/wasm',
  bin: 'application/octet-stream',
  safetensors: 'application/octet-stream',
};

/** Starts serving `routes` (path → route) on 127.0.0.1 at a free port. */
export async function serveStatic(routes: Map<string, Route>): Promise<StaticServer> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes.get(url.pathname);
    if (!route || req.method !== 'GET') {
      log.push(`${url.pathname} 404`);
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`);
      return;
    }
    const body = 'file' in route ? fs.readFileSync(route.file) : route.body;
    log.push(`${url.pathname} 200`);
    res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
