/**
 * The built static pages: /dashboard/ (operator or viewer token) and /client/ (open: a site
 * page holds its join token in the URL fragment and presents it on the ws hello). 503 with
 * a plain message while a page is not built.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';

export interface PageOptions {
  /** Where the page is served (not `prefix`: Fastify would prefix the plugin's routes). */
  mount: string;
  dir: string;
  what: string;
  decorateReply: boolean;
  /** Runs before every request of this page (e.g. the viewer guard). */
  guard?: onRequestHookHandler;
}

export const pageRoutes: FastifyPluginAsync<PageOptions> = async (app, o) => {
  if (o.guard) app.addHook('onRequest', o.guard);
  if (!existsSync(join(o.dir, 'index.html'))) {
    const msg = `${o.what} is not built: run its Vite build so that ${o.dir} exists`;
    app.get(o.mount, async (_req, reply) => reply.status(503).type('text/plain').send(msg));
    app.get(`${o.mount}*`, async (_req, reply) => reply.status(503).type('text/plain').send(msg));
    return;
  }
  await app.register(fastifyStatic, {
    root: o.dir,
    prefix: o.mount,
    decorateReply: o.decorateReply,
    // Cross-origin isolation lets the wasm backend use threads (SharedArrayBuffer).
    setHeaders: (res) => {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    },
  });
};
