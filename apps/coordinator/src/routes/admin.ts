/**
 * Operator endpoints (admin token): POST /api/sites registers a site and returns its join
 * token once (bad name 400, taken 409); POST /api/resume resumes a paused federation.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { RoundEngine } from '../engine.js';
import type { Guards } from '../http/auth.js';
import { ErrorBody, Resumed, SiteBody, SiteCreated } from '../http/schemas.js';
import { SiteExistsError, type Store } from '../store.js';

export const adminRoutes: FastifyPluginAsync<{
  engine: RoundEngine;
  store: Store;
  guards: Guards;
}> = async (app, o) => {
  app.post<{ Body: SiteBody }>(
    '/api/sites',
    {
      onRequest: o.guards.admin,
      schema: {
        body: SiteBody,
        response: { 201: SiteCreated, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      try {
        const token = o.store.addSite(req.body.name, req.body.budget);
        o.engine.emit('change');
        return reply.status(201).send({ name: req.body.name, budget: req.body.budget, token });
      } catch (e) {
        if (e instanceof SiteExistsError) return reply.status(409).send({ error: e.message });
        return reply.status(400).send({ error: (e as Error).message });
      }
    },
  );

  app.post(
    '/api/resume',
    { onRequest: o.guards.admin, schema: { response: { 200: Resumed, 401: ErrorBody } } },
    async () => {
      o.engine.resume();
      return { phase: o.engine.phase };
    },
  );
};
