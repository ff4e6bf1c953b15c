import type { FastifyPluginAsync } from 'fastify';
import type { RoundEngine } from '../engine.js';
import { Health } from '../http/schemas.js';

/** GET /healthz: 200 while serving (no auth: load balancers and the e2e harness poll it). */
export const healthRoutes: FastifyPluginAsync<{ engine: RoundEngine }> = async (app, o) => {
  app.get('/healthz', { schema: { response: { 200: Health } } }, async () => ({
    ok: true,
    round: o.engine.round,
    phase: o.engine.phase,
  }));
};
