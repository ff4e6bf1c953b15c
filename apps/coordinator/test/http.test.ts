import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { runCli } from '../src/cli.js';
import { Store, hashToken } from '../src/store.js';
import { fakeModel, fakeSite, runSite, startCoordinator, testConfig, tmpDir } from './fakes.js';

let app: FastifyInstance | null = null;
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

    for (const url of ['/dashboard/', '/client/', '/client/index.html']) {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(503);
      expect(r.body).toMatch(/not built/);
    }
    const st = (await app.inject('/api/state')).json();
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

  it('/api/live pushes the dashboard JSON as rounds complete', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({ strategy: 'f3ocus', rounds: 1 }),
    });
    app = c.app;
    const tokens = [0, 1].map((i) => c.app.store.addSite(`s${i}`, 1));
    const live = await c.app.injectWS('/api/live');
    const states: {
      phase: string;
      rounds: unknown[];
      sites: { name: string; stepMs: number | null; memoryBytes: number | null }[];
    }[] = [];
    live.on('message', (d: Buffer) => states.push(JSON.parse(d.toString())));
    const runs = tokens.map((t, i) => runSite(c.url, t, fakeSite(i)));
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
    // pushes are coalesced (50 ms), but the solve phase alone lasts longer than that
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
