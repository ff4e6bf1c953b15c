/**
 * The coordinator as a Fastify app factory (no ports, no signals: server.ts does those), so
 * tests build it and drive it with inject / injectWS or a loopback listen.
 *
 *   GET  /healthz                 200 while serving
 *   GET  /api/state               dashboard JSON (state.ts)
 *   ws   /api/live                read-only dashboard stream
 *   POST /api/sites               admin: register a site -> join token
 *   ws   /ws                      site protocol (site-socket.ts)
 *   GET  /model/base.safetensors  frozen base checkpoint (ETag, cacheable)
 *   GET  /dashboard/, /client/    built static pages (503 when not built)
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import websocket from '@fastify/websocket';
import fastifyStatic from '@fastify/static';
import Type from 'typebox';
import { encodedSize } from '@focus-fl/core/federated';
import type { FederationConfig } from './config.js';
import { RoundEngine } from './engine.js';
import type { ModelSource } from './model-source.js';
import { createPlanner, type Planner } from './planner.js';
import { handleSiteSocket } from './site-socket.js';
import { dashboardState } from './state.js';
import { Store } from './store.js';

const here = dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_DIST = resolve(here, '../dashboard/dist');
export const CLIENT_DIST = resolve(here, '../../browser-client/dist');

export interface AppOptions {
  config: FederationConfig;
  dataDir: string;
  model: ModelSource;
  /** Admin token for write endpoints (stored hashed); generated and logged when absent. */
  adminToken?: string;
  planner?: Planner;
  logger?: FastifyServerOptions['logger'];
  /** Start the round loop when the app is ready (default true). */
  autoStart?: boolean;
  dashboardDir?: string;
  clientDir?: string;
  /** WebSocket ping interval for sites (default 30 s). */
  heartbeatMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    engine: RoundEngine;
    store: Store;
    /** Set when this start created a new admin token (print it once). */
    newAdminToken: string | null;
  }
}

/** Frame limit sized to the model: the full global params in fp32, plus headroom. */
export function frameLimit(model: ModelSource): number {
  const shapes = Object.fromEntries(
    Object.entries(model.initialGlobal).map(([k, v]) => [k, v.shape]),
  );
  return Math.ceil(encodedSize(shapes, 'fp32') * 1.25) + 64 * 1024;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1024 * 1024 });
  const store = new Store(opts.dataDir);
  const created = store.ensureAdminToken(opts.adminToken);
  store.setMeta('config', JSON.stringify(opts.config));
  const planner = opts.planner ?? createPlanner(opts.config);
  const engine = new RoundEngine({
    config: opts.config,
    store,
    planner,
    layers: opts.model.layers,
    initialGlobal: opts.model.initialGlobal,
    log: app.log,
  });
  app.decorate('engine', engine);
  app.decorate('store', store);
  app.decorate('newAdminToken', created);

  const maxFrameBytes = frameLimit(opts.model);
  // ws closes frames above its hard cap itself (1009); between the soft limit and the cap we
  // answer a 'too-large' error frame and keep the socket.
  await app.register(websocket, { options: { maxPayload: maxFrameBytes * 2 } });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  app.get('/healthz', async () => ({ ok: true, round: engine.round, phase: engine.phase }));

  app.get('/api/state', async () => dashboardState(engine, store, planner.name));

  const live = new Set<import('ws').WebSocket>();
  let pending: NodeJS.Timeout | null = null;
  const push = () => {
    pending = null;
    if (live.size === 0) return;
    const json = JSON.stringify(dashboardState(engine, store, planner.name));
    for (const s of live) if (s.readyState === s.OPEN) s.send(json);
  };
  engine.on('change', () => {
    pending ??= setTimeout(push, 50);
  });
  app.get('/api/live', { websocket: true }, (socket) => {
    live.add(socket);
    socket.on('message', () => socket.close(1008, 'read-only channel'));
    socket.on('close', () => live.delete(socket));
    socket.send(JSON.stringify(dashboardState(engine, store, planner.name)));
  });

  const SiteBody = Type.Object(
    { name: Type.String({ minLength: 1, maxLength: 64 }), budget: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  );
  app.post<{ Body: { name: string; budget: number } }>(
    '/api/sites',
    {
      schema: { body: SiteBody },
      onRequest: async (req, reply) => {
        const h = req.headers.authorization ?? '';
        const token = h.startsWith('Bearer ') ? h.slice(7) : undefined;
        if (!store.checkAdminToken(token)) {
          return reply
            .status(401)
            .send({ error: 'admin token required (Authorization: Bearer ...)' });
        }
      },
    },
    async (req, reply) => {
      try {
        const token = store.addSite(req.body.name, req.body.budget);
        engine.emit('change');
        return reply.status(201).send({ name: req.body.name, budget: req.body.budget, token });
      } catch (e) {
        return reply.status(409).send({ error: (e as Error).message });
      }
    },
  );

  app.get('/ws', { websocket: true }, (socket) => {
    handleSiteSocket(socket, {
      engine,
      store,
      log: app.log,
      maxFrameBytes,
      strategy: planner.name,
      heartbeatMs: opts.heartbeatMs,
    });
  });

  // The frozen base model: content-addressed ETag, so browsers cache it across sessions.
  const base = opts.model.baseBytes;
  const etag = base ? `"${createHash('sha256').update(base).digest('hex').slice(0, 32)}"` : '';
  // One Buffer view over the checkpoint's own memory, sent to every request as is: a 115 MB
  // vilt-b32 base is never copied per download (Buffer.from(Uint8Array) would copy it).
  const body = base ? Buffer.from(base.buffer, base.byteOffset, base.byteLength) : undefined;
  app.get('/model/base.safetensors', async (req, reply) => {
    if (!base)
      return reply.status(503).type('text/plain').send('base model checkpoint is not available');
    void reply
      .header('ETag', etag)
      .header('Cache-Control', 'public, max-age=86400, must-revalidate');
    void reply.header('Cross-Origin-Resource-Policy', 'same-origin');
    if (req.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.type('application/octet-stream').send(body);
  });

  await serveDist(app, '/dashboard/', opts.dashboardDir ?? DASHBOARD_DIST, 'dashboard', true);
  await serveDist(app, '/client/', opts.clientDir ?? CLIENT_DIST, 'site client', false);

  app.addHook('onClose', async () => {
    for (const s of live) s.close(1001, 'shutting down');
    if (pending) clearTimeout(pending);
    await engine.stop();
    store.close();
  });
  if (opts.autoStart !== false) app.addHook('onReady', async () => engine.start());
  return app;
}

async function serveDist(
  app: FastifyInstance,
  prefix: string,
  dir: string,
  what: string,
  decorate: boolean,
): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) {
    const msg = `${what} is not built: run its Vite build so that ${dir} exists`;
    app.get(prefix, async (_req, reply) => reply.status(503).type('text/plain').send(msg));
    app.get(`${prefix}*`, async (_req, reply) => reply.status(503).type('text/plain').send(msg));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix,
    decorateReply: decorate,
    // Cross-origin isolation lets the wasm backend use threads (docs/browser.md).
    setHeaders: (res) => {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    },
  });
}
