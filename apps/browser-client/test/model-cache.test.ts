// The site page's base download (model-cache.ts) against a real HTTP server: the size is
// reported (progress 0 of Content-Length from a HEAD request) before any byte is fetched, then
// progress grows to the total.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchModel } from '../src/model-cache.js';

const base = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) & 0xff);
let server: Server;
let url = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.method ?? '');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(base.length),
      etag: '"abc"',
    });
    if (req.method === 'HEAD') res.end();
    else {
      // In chunks, so the reader sees several progress steps.
      for (let o = 0; o < base.length; o += 256 * 1024) res.write(base.subarray(o, o + 256 * 1024));
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model/base.safetensors`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('fetchModel', () => {
  it('reports the size before downloading, then progress up to it', async () => {
    const events: [number, number, string | undefined][] = [];
    const r = await fetchModel(url, (done, total, label) => events.push([done, total, label]));
    expect(r.cached).toBe(false);
    expect(Buffer.from(r.bytes).equals(Buffer.from(base))).toBe(true);
    expect(requests).toEqual(['HEAD', 'GET']);
    expect(events[0]).toEqual([0, base.length, 'model']);
    expect(events.length).toBeGreaterThan(2);
    expect(events.at(-1)).toEqual([base.length, base.length, 'model']);
    for (let i = 1; i < events.length; i++) {
      expect(events[i][0]).toBeGreaterThanOrEqual(events[i - 1][0]);
      expect(events[i][1]).toBe(base.length);
    }
  });
});
