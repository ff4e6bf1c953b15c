/**
 * GET /api/state (the dashboard JSON) and ws /api/live (the same JSON on every change,
 * read-only). Both need the operator's or a viewer's token; the check runs in onRequest,
 * before the WebSocket upgrade.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import { DashboardStateSchema } from '../dashboard-state.js';
import type { RoundEngine } from '../engine.js';
import type { Guards } from '../http/auth.js';
import { ErrorBody } from '../http/schemas.js';
import { dashboardState } from '../state.js';
import type { Store } from '../store.js';

export interface StateRoutesOptions {
  engine: RoundEngine;
  store: Store;
  strategy: string;
  guards: Guards;
}

export const stateRoutes: FastifyPluginAsync<StateRoutesOptions> = async (app, o) => {
  const state = () => dashboardState(o.engine, o.store, o.strategy);
  app.get(
    '/api/state',
    {
      onRequest: o.guards.viewer,
      schema: { response: { 200: DashboardStateSchema, 401: ErrorBody } },
    },
    async () => state(),
  );

  const live = new Set<WebSocket>();
  let pending: NodeJS.Timeout | null = null;
  const push = () => {
    pending = null;
    if (live.size === 0) return;
    const json = JSON.stringify(state());
    for (const s of live) if (s.readyState === s.OPEN) s.send(json);
  };
  o.engine.on('change', () => {
    pending ??= setTimeout(push, 50);
  });
  app.get('/api/live', { websocket: true, onRequest: o.guards.viewer }, (socket) => {
    live.add(socket);
    socket.on('message', () => socket.close(1008, 'read-only channel'));
    socket.on('close', () => live.delete(socket));
    socket.send(JSON.stringify(state()));
  });
  app.addHook('onClose', async () => {
    for (const s of live) s.close(1001, 'shutting down');
    if (pending) clearTimeout(pending);
  });
};
