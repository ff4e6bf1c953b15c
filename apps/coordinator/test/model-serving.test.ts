// GET/HEAD /model/base.safetensors for a large base: the size is known before the download
// (HEAD Content-Length), the payload is the base, and serving it does not copy it per request.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { fakeModel, testConfig, tmpDir } from './fakes.js';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('base model serving', () => {
  it('HEAD gives the size and ETag; a 40 MB base is served without a copy per request', async () => {
    const base = new Uint8Array(40 * 1024 * 1024);
    for (let i = 0; i < base.length; i += 4096) base[i] = i & 0xff;
    app = await buildApp({
      config: testConfig(),
      dataDir: tmpDir(),
      model: { ...fakeModel(), baseBytes: base },
      autoStart: false,
      dashboardDir: '/nonexistent/dashboard',
      clientDir: '/nonexistent/client',
    });
    const head = await app.inject({ method: 'HEAD', url: '/model/base.safetensors' });
    expect(head.statusCode).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(base.length);
    expect(head.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const get = await app.inject('/model/base.safetensors');
    expect(get.rawPayload.equals(Buffer.from(base))).toBe(true);
    // No request copies the base: every Buffer of its size made while serving shares its
    // memory (a Buffer.from(base) per request would allocate a fresh 40 MB each time).
    const made: Buffer[] = [];
    const orig = Buffer.from.bind(Buffer) as (...a: unknown[]) => Buffer;
    const spy = vi.spyOn(Buffer, 'from').mockImplementation(((...a: unknown[]) => {
      const r = orig(...a);
      made.push(r);
      return r;
    }) as typeof Buffer.from);
    try {
      for (let i = 0; i < 4; i++) {
        const r = await app.inject('/model/base.safetensors');
        expect(r.rawPayload.length).toBe(base.length);
      }
    } finally {
      spy.mockRestore();
    }
    const copies = made.filter((x) => x.length >= base.length && x.buffer !== base.buffer);
    // inject (light-my-request) assembles each response once on the client side.
    expect(copies.length).toBeLessThanOrEqual(4);
  });
});
