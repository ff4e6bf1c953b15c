import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { buildApp } from '../src/app.js';
import { runCli } from '../src/cli.js';
import { Store, hashToken } from '../src/store.js';
import { fakeModel, fakeSite, runSite, startCoordinator, testConfig, tmpDir } from './fakes.js';

let app: FastifyInstance | null = null;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('coordinator HTTP', () => {
  it('healthz, base model with ETag/304, admin-guarded site registration, 503 for unbuilt pages', async () => {
    app = await buildApp({
      config: testConfig(),
      dataDir: tmpDir(),
      model: fakeModel(),
      adminToken: 'admin-secret',
      autoStart: false,
      dashboardDir: '/nonexistent/dashboard',
      clientDir: '/nonexistent/client',
    });
    expect((await app.inject('/healthz')).statusCode).toBe(200);

    const m = await app.inject('/model/base.safetensors');
    expect(m.statusCode).toBe(200);
    expect([...m.rawPayload]).toEqual([1, 2, 3, 4]);
    const etag = m.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(m.headers['cache-control']).toMatch(/max-age/);
    const again = await app.inject({
      url: '/model/base.safetensors',
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);

    const noAuth = await app.inject({
      method: 'POST',
      url: '/api/sites',
      payload: { name: 'a', budget: 2 },
    });
    expect(noAuth.statusCode).toBe(401);
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: 'Bearer nope' },
      payload: { name: 'a', budget: 2 },
    });
    expect(wrong.statusCode).toBe(401);
    const ok = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: 'Bearer admin-secret' },
      payload: { name: 'a', budget: 2 },
    });
    expect(ok.statusCode).toBe(201);
    const token = ok.json().token as string;
    expect(app.store.siteByToken(token)?.name).toBe('a');
    // stored hashed, never in clear
    const row = app.store.db.prepare('SELECT token_hash FROM sites WHERE name = ?').get('a') as {
      token_hash: string;
    };
    expect(row.token_hash).toBe(hashToken(token));
    expect(row.token_hash).not.toContain(token);
    const bad = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: 'Bearer admin-secret' },
      payload: { name: 'b', budget: -1 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/budget/);
    const badName = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: 'Bearer admin-secret' },
      payload: { name: 'st marys/../x', budget: 2 },
    });
    expect(badName.statusCode).toBe(400);
    expect(badName.json().error).toMatch(/name/);
    const taken = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: 'Bearer admin-secret' },
      payload: { name: 'a', budget: 1 },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatch(/site "a" already exists/);

    const admin = { authorization: 'Bearer admin-secret' };
    for (const url of ['/client/', '/client/index.html']) {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(503);
      expect(r.body).toMatch(/not built/);
    }
    expect((await app.inject({ url: '/dashboard/', headers: admin })).statusCode).toBe(503);
    const st = (await app.inject({ url: '/api/state', headers: admin })).json();
    expect(st).toMatchObject({ round: 1, phase: 'waiting', totalRounds: 3, strategy: 'lntk' });
    expect(st.sites).toEqual([
      {
        name: 'a',
        status: 'offline',
        backend: null,
        budget: 2,
        connected: false,
        stepMs: null,
        memoryBytes: null,
      },
    ]);
  });

  it('state, live and dashboard need the operator or viewer token, by header or login cookie', async () => {
    const dir = tmpDir();
    app = await buildApp({
      config: testConfig(),
      dataDir: dir,
      model: fakeModel(),
      adminToken: 'admin-secret',
      autoStart: false,
      dashboardDir: '/nonexistent/dashboard',
    });
    const out: string[] = [];
    expect(runCli(['viewer-token', '--data-dir', dir], (s) => out.push(s))).toBe(0);
    const viewer = out[0];
    expect(viewer).toMatch(/^[A-Za-z0-9_-]{32}$/);

    expect((await app.inject('/api/state')).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/state', headers: bearer('nope') })).statusCode).toBe(401);
    // a browser asking for the dashboard without a session is sent to the login page
    const page = await app.inject({ url: '/dashboard/', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/dashboard/login');
    const login = await app.inject('/dashboard/login');
    expect(login.statusCode).toBe(200);
    expect(login.body).toMatch(/location\.hash/);
    for (const token of [viewer, 'admin-secret']) {
      expect((await app.inject({ url: '/api/state', headers: bearer(token) })).statusCode).toBe(
        200,
      );
    }
    // the viewer token reads, it does not write
    const write = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: bearer(viewer),
      payload: { name: 'v', budget: 1 },
    });
    expect(write.statusCode).toBe(401);

    expect(
      (await app.inject({ method: 'POST', url: '/api/session', payload: { token: 'nope' } }))
        .statusCode,
    ).toBe(401);
    const session = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { token: viewer },
    });
    expect(session.json()).toEqual({ role: 'viewer' });
    const setCookie = String(session.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0];
    expect((await app.inject({ url: '/api/state', headers: { cookie } })).statusCode).toBe(200);
    // the upgrade itself is refused without a token (the guard runs before it)
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/live`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    const live = await app.injectWS('/api/live', { headers: { cookie } });
    const first = await new Promise<string>((r) => {
      live.once('message', (d) => r(String(d)));
      app!.engine.emit('change'); // the greeting may predate the listener: ask for a push
    });
    expect(JSON.parse(first)).toMatchObject({ phase: 'waiting', pausedReason: null });
    live.terminate();
  });

  it('never logs a token from a URL', async () => {
    const lines: string[] = [];
    app = await buildApp({
      config: testConfig(),
      dataDir: tmpDir(),
      model: fakeModel(),
      adminToken: 'admin-secret',
      autoStart: false,
      clientDir: '/nonexistent/client',
      logger: { level: 'info', stream: { write: (l: string) => lines.push(l) } },
    });
    await app.inject('/client/?coordinator=ws://h/ws&token=SITE-SECRET-1&backend=wasm');
    await app.inject('/api/state?access_key=SITE-SECRET-2');
    const log = lines.join('');
    expect(log).toMatch(/token=\[redacted\]/);
    expect(log).toMatch(/backend=wasm/);
    expect(log).not.toMatch(/SITE-SECRET/);
  });

  it('/api/live pushes the dashboard JSON as rounds complete', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({ strategy: 'f3ocus', rounds: 1 }),
    });
    app = c.app;
    const tokens = [0, 1].map((i) => c.app.store.addSite(`s${i}`, 1));
    const live = await c.app.injectWS('/api/live', { headers: bearer('admin-secret') });
    const states: {
      phase: string;
      rounds: unknown[];
      sites: { name: string; stepMs: number | null; memoryBytes: number | null }[];
    }[] = [];
    // The sites train only once the dashboard has been pushed a state from inside the round, so
    // that a mid-round push is seen however fast the solve and the fake training are.
    let sawMidRound!: () => void;
    const midRound = new Promise<void>((resolve) => (sawMidRound = resolve));
    live.on('message', (d: Buffer) => {
      const state = JSON.parse(d.toString()) as (typeof states)[number];
      states.push(state);
      if (!['waiting', 'done'].includes(state.phase)) sawMidRound();
    });
    const sites = [0, 1].map((i) => {
      const site = fakeSite(i);
      const train = site.train.bind(site);
      site.train = async (layers, cfg) => {
        await midRound;
        return train(layers, cfg);
      };
      return site;
    });
    const runs = tokens.map((t, i) => runSite(c.url, t, sites[i]));
    await Promise.all(runs.map((r) => r.done));
    for (let i = 0; i < 100 && states.at(-1)?.phase !== 'done'; i++)
      await new Promise((r) => setTimeout(r, 20));
    live.terminate();
    expect(states.length).toBeGreaterThan(2);
    expect(states.at(-1)!.phase).toBe('done');
    expect(states.at(-1)!.rounds).toHaveLength(2);
    // Each site's step time and memory from its update (fakeSite reports 10 + i ms, (i+1) MB).
    expect(states.at(-1)!.sites.map((s) => [s.name, s.stepMs, s.memoryBytes])).toEqual([
      ['s0', 10, 1_000_000],
      ['s1', 11, 2_000_000],
    ]);
    // pushes are coalesced (50 ms); the round's phases were pushed, not only its end
    expect(states.some((s) => !['waiting', 'done'].includes(s.phase))).toBe(true);
  });

  it('cli: sites add prints a token the server accepts; duplicates are refused', () => {
    const dir = tmpDir();
    const out: string[] = [];
    expect(
      runCli(['sites', 'add', 'lab1', '--budget', '3', '--data-dir', dir], (s) => out.push(s)),
    ).toBe(0);
    expect(out[0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(() => runCli(['sites', 'add', 'lab1', '--budget', '3', '--data-dir', dir])).toThrow(
      /already exists/,
    );
    expect(() => runCli(['sites', 'add', 'lab2', '--budget', 'x', '--data-dir', dir])).toThrow(
      /--budget/,
    );
    const store = new Store(dir);
    expect(store.siteByToken(out[0])).toMatchObject({ name: 'lab1', budget: 3 });
    store.close();
  });
});
