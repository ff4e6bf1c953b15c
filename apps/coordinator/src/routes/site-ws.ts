import type { FastifyPluginAsync } from 'fastify';
import type { RoundEngine } from '../engine.js';
import { handleSiteSocket } from '../site-socket.js';
import type { Store } from '../store.js';

/** ws /ws: the site protocol (site-socket.ts); sites authenticate with their hello. */
export const siteSocketRoutes: FastifyPluginAsync<{
  engine: RoundEngine;
  store: Store;
  maxFrameBytes: number;
  strategy: string;
  heartbeatMs?: number;
}> = async (app, o) => {
  app.get('/ws', { websocket: true }, (socket) => {
    handleSiteSocket(socket, {
      engine: o.engine,
      store: o.store,
      log: app.log,
      maxFrameBytes: o.maxFrameBytes,
      strategy: o.strategy,
      heartbeatMs: o.heartbeatMs,
    });
  });
};
