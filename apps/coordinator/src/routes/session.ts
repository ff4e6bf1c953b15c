/**
 * The dashboard's login: POST /api/session {token} checks an operator or viewer token and sets
 * it as an HttpOnly, SameSite=Strict cookie, so the page and its WebSocket carry it without it
 * ever appearing in a URL; DELETE /api/session logs out. GET /dashboard/login is the page that
 * posts it (a link may carry the token in its fragment, `#token=...`, which no server sees).
 */
import type { FastifyPluginAsync } from 'fastify';
import { SESSION_COOKIE, type Guards } from '../http/auth.js';
import { ErrorBody, SessionBody, SessionInfo } from '../http/schemas.js';

export const LOGIN_PATH = '/dashboard/login';

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>focus-fl dashboard: log in</title>
<style>body{font:15px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
input{width:100%;padding:.4rem;font:inherit}button{margin-top:.6rem;padding:.4rem 1rem}
#msg{color:#b00020}</style></head>
<body><h1>focus-fl dashboard</h1>
<p>Paste the operator token or a viewer token (<code>pnpm focus-fl viewer-token</code>).</p>
<form id="f"><input id="token" type="password" autocomplete="off" placeholder="token">
<button>Open the dashboard</button></form><p id="msg"></p>
<script type="module">
const msg = document.getElementById('msg');
async function login(token) {
  const r = await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (r.ok) location.replace('/dashboard/');
  else msg.textContent = 'that token was refused';
}
const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get('token')) { const t = hash.get('token'); history.replaceState(null, '', location.pathname); login(t); }
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); login(document.getElementById('token').value.trim()); };
</script></body></html>`;

export const sessionRoutes: FastifyPluginAsync<{ guards: Guards }> = async (app, o) => {
  app.post<{ Body: SessionBody }>(
    '/api/session',
    { schema: { body: SessionBody, response: { 200: SessionInfo, 401: ErrorBody } } },
    async (req, reply) => {
      const role = o.guards.roleOfToken(req.body.token);
      if (!role) return reply.status(401).send({ error: 'unknown token' });
      void reply.setCookie(SESSION_COOKIE, req.body.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: req.protocol === 'https',
      });
      return { role };
    },
  );
  app.delete('/api/session', async (_req, reply) => {
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });
  app.get(LOGIN_PATH, async (_req, reply) => reply.type('text/html').send(LOGIN_PAGE));
};
