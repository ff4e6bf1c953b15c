/**
 * The coordinator as a Fastify app factory (no ports, no signals: server.ts does those), so
 * tests build it and drive it with inject / injectWS or a loopback listen.
 *
 * Every route group is a plugin under routes/ with TypeBox schemas (http/schemas.ts):
 *
 *   GET  /healthz                 200 while serving                         routes/health.ts
 *   GET  /api/state               dashboard JSON (viewer)                   routes/state.ts
 *   ws   /api/live                read-only dashboard stream (viewer)       routes/state.ts
 *   POST /api/sites               register a site -> join token (admin)     routes/admin.ts
 *   POST /api/resume              resume a paused federation (admin)        routes/admin.ts
 *   POST /api/session             dashboard login: token -> HttpOnly cookie routes/session.ts
 *   GET  /dashboard/login         the login page                            routes/session.ts
 *   ws   /ws                      site protocol (site-socket.ts)            routes/site-ws.ts
 *   GET  /model/base.safetensors  frozen base checkpoint (ETag, cacheable)  routes/model.ts
 *   GET  /dashboard/ (viewer), /client/   built static pages (503 unbuilt)  routes/pages.ts
 *
 * "viewer" = the operator's admin token or the read-only viewer token (http/auth.ts), in an
 * Authorization header or the session cookie; never in a URL. Token-like query parameters are
 * redacted from the request log (http/redact.ts).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import { encodedSize } from '@focus-fl/core/federated';
import type { FederationConfig } from './config.js';
import { RoundEngine } from './engine.js';
import { createGuards } from './http/auth.js';
import { redactedRequest } from './http/redact.js';
import type { ModelSource } from './model-source.js';
import { createPlanner, type Planner } from './planner.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/model.js';
import { pageRoutes } from './routes/pages.js';
import { LOGIN_PATH, sessionRoutes } from './routes/session.js';
import { siteSocketRoutes } from './routes/site-ws.js';
import { stateRoutes } from './routes/state.js';
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
  const app = Fastify({ logger: withRedaction(opts.logger ?? false), bodyLimit: 1024 * 1024 });
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
  await app.register(cookie);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  const guards = createGuards(store, LOGIN_PATH);
  const strategy = planner.name;
  await app.register(healthRoutes, { engine });
  await app.register(sessionRoutes, { guards });
  await app.register(stateRoutes, { engine, store, strategy, guards });
  await app.register(adminRoutes, { engine, store, guards });
  await app.register(siteSocketRoutes, {
    engine,
    store,
    maxFrameBytes,
    strategy,
    heartbeatMs: opts.heartbeatMs,
  });
  await app.register(modelRoutes, { baseBytes: opts.model.baseBytes });
  await app.register(pageRoutes, {
    mount: '/dashboard/',
    dir: opts.dashboardDir ?? DASHBOARD_DIST,
    what: 'dashboard',
    decorateReply: true,
    guard: guards.viewer,
  });
  await app.register(pageRoutes, {
    mount: '/client/',
    dir: opts.clientDir ?? CLIENT_DIST,
    what: 'site client',
    decorateReply: false,
  });

  app.addHook('onClose', async () => {
    await engine.stop();
    store.close();
  });
  if (opts.autoStart !== false) app.addHook('onReady', async () => engine.start());
  return app;
}

/** Logger options with the request URL redacted (token-like query parameters). */
function withRedaction(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return logger;
  const base = logger === true ? {} : logger;
  return { ...base, serializers: { ...base.serializers, req: redactedRequest as never } };
}
