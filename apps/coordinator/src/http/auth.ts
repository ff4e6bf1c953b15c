/**
 * Who may do what over HTTP:
 * - the operator (admin token): everything, including registering sites;
 * - a viewer (read-only token, `focus-fl viewer-token`): /api/state, /api/live, /dashboard/.
 * A token comes in `Authorization: Bearer <token>` or in the session cookie that the
 * dashboard's login page has the coordinator set (HttpOnly): never in a URL, so it never
 * reaches a request log. Sites authenticate on the ws protocol (hello) instead.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store.js';

export const SESSION_COOKIE = 'focus_fl_session';

export type Role = 'admin' | 'viewer';

export interface Guards {
  /** The role a request's token grants, or null. */
  roleOf(req: FastifyRequest): Role | null;
  /** onRequest hook: admin or viewer, else 401 (a browser asking for a page: the login page). */
  viewer(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** onRequest hook: admin only, else 401. */
  admin(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** The role a given token grants (login), or null. */
  roleOfToken(token: string | undefined): Role | null;
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization ?? '';
  return h.startsWith('Bearer ') ? h.slice(7) : undefined;
}

export function createGuards(store: Store, loginPath: string): Guards {
  const roleOfToken = (token: string | undefined): Role | null => {
    if (!token) return null;
    if (store.checkAdminToken(token)) return 'admin';
    if (store.checkViewerToken(token)) return 'viewer';
    return null;
  };
  const roleOf = (req: FastifyRequest): Role | null =>
    roleOfToken(bearerToken(req)) ?? roleOfToken(req.cookies?.[SESSION_COOKIE]);
  return {
    roleOf,
    roleOfToken,
    async viewer(req, reply) {
      if (roleOf(req)) return;
      const wantsPage = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
      if (wantsPage) return reply.redirect(loginPath, 303);
      return reply.status(401).send({
        error:
          'operator or viewer token required (Authorization: Bearer ..., or log in at ' +
          `${loginPath})`,
      });
    },
    async admin(req, reply) {
      if (roleOf(req) === 'admin') return;
      return reply.status(401).send({ error: 'admin token required (Authorization: Bearer ...)' });
    },
  };
}
