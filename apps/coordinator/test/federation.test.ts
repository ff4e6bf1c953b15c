import { afterEach, describe, expect, it } from 'vitest';
import { fakeSite, runSite, startCoordinator, testConfig, tmpDir, LAYERS } from './fakes.js';
import type { FastifyInstance } from 'fastify';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('federation over loopback ws (fake compute)', () => {
  it('runs 3 rounds with 4 sites; accuracy rises; stored selection = what each site trained', async () => {
    const dataDir = tmpDir();
    const c = await startCoordinator({
      dataDir,
      config: testConfig({ strategy: 'f3ocus', minClients: 4 }),
    });
    app = c.app;
    const sites = [0, 1, 2, 3].map((i) => fakeSite(100 + i, 40 + 10 * i));
    const tokens = sites.map((_, i) => c.app.store.addSite(`site${i}`, 2));
    const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
    const outcomes = await Promise.all(runs.map((r) => r.done));
    expect(outcomes).toEqual(['done', 'done', 'done', 'done']);

    const rounds = c.app.store.rounds();
    expect(rounds.map((r) => r.round)).toEqual([0, 1, 2, 3]);
    const acc = rounds.map((r) => r.accuracy!);
    expect(acc[3]).toBeGreaterThan(acc[0] + 0.1);
    expect(acc[1]).toBeGreaterThan(acc[0]);
    // global accuracy = sample-weighted mean of the sites' held-out reports
    const ev = c.app.store.clientMetrics(3, 'eval') as Record<
      string,
      { accuracy: number; numSamples: number }
    >;
    const w = Object.values(ev).reduce((a, m) => a + m.numSamples, 0);
    const mean = Object.values(ev).reduce((a, m) => a + m.accuracy * m.numSamples, 0) / w;
    expect(acc[3]).toBeCloseTo(mean, 12);

    for (let r = 1; r <= 3; r++) {
      const sel = c.app.store.selections(r);
      sites.forEach((s, i) => {
        const trained = s.trained.find((t) => t.round === r)!;
        expect(sel[`site${i}`]).toEqual(trained.layers);
        expect(trained.layers.length).toBeLessThanOrEqual(2);
        for (const l of trained.layers) expect(LAYERS).toContain(l);
      });
      expect(rounds[r].front.length).toBeGreaterThan(0);
      expect(rounds[r].bytesUp).toBeGreaterThan(0);
      expect(rounds[r].bytesDown).toBeGreaterThan(0);
    }
    // every site ends with exactly the coordinator's global weights
    const g = c.app.engine.global;
    for (const s of sites)
      for (const k of Object.keys(g)) expect(s.weights[k].data).toEqual(g[k].data);
    const state = (
      await c.app.inject({ url: '/api/state', headers: { authorization: 'Bearer admin-secret' } })
    ).json();
    expect(state.phase).toBe('done');
    expect(state.rounds).toHaveLength(4);
    expect(state.sites.map((x: { name: string }) => x.name)).toEqual([
      'site0',
      'site1',
      'site2',
      'site3',
    ]);
  });
});
