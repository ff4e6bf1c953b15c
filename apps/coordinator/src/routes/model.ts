import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';

/** GET /model/base.safetensors: the frozen base, content-addressed ETag, browser-cacheable. */
export const modelRoutes: FastifyPluginAsync<{ baseBytes: Uint8Array | null }> = async (app, o) => {
  const base = o.baseBytes;
  const etag = base ? `"${createHash('sha256').update(base).digest('hex').slice(0, 32)}"` : '';
  // One Buffer view over the checkpoint's own memory, sent to every request as is: a 115 MB
  // vilt-b32 base is never copied per download (Buffer.from(Uint8Array) would copy it).
  const body = base ? Buffer.from(base.buffer, base.byteOffset, base.byteLength) : undefined;
  app.get('/model/base.safetensors', async (req, reply) => {
    if (!base)
      return reply.status(503).type('text/plain').send('base model checkpoint is not available');
    void reply
      .header('ETag', etag)
      .header('Cache-Control', 'public, max-age=86400, must-revalidate')
      .header('Cross-Origin-Resource-Policy', 'same-origin');
    if (req.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.type('application/octet-stream').send(body);
  });
};
