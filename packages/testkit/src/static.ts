// A minimal static server for tests that need the site page without a coordinator (WebGPU
// parity, import errors): the built page at /client/ with the same cross-origin-isolation
// headers the coordinator sends, and a base model at /model/base.safetensors.
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CLIENT_DIST } from './paths.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

export async function serveClient(model: Uint8Array): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (url.pathname === '/model/base.safetensors') {
      res.setHeader('ETag', `"base-${model.byteLength}"`);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(model.byteLength));
      res.end(req.method === 'HEAD' ? undefined : Buffer.from(model));
      return;
    }
    if (!url.pathname.startsWith('/client/')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    let rel = normalize(url.pathname.slice('/client/'.length)).replace(/^(\.\.[/\\])+/, '');
    if (rel === '' || rel === '.') rel = 'index.html';
    const file = join(CLIENT_DIST, rel);
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader(
      'Content-Type',
      TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream',
    );
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
