import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encode } from '@msgpack/msgpack';
import {
  PROTOCOL_VERSION,
  SiteClient,
  decodeFrame,
  decodeUpdate,
  encodeFrame,
  type Message,
} from '@focus-fl/core/federated';
import type { FastifyInstance } from 'fastify';
import { LAYERS, fakeSite, runSite, startCoordinator, testConfig, tmpDir } from './fakes.js';
import { connectWs } from '../src/ws-transport.js';

let apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps) await a.close();
  apps = [];
});

/** A raw ws client that records decoded frames and the close code. */
async function raw(url: string) {
  const ws = new WebSocket(url);
  const got: Message[] = [];
  let closed: number | null = null;
  ws.on('message', (d: Buffer) => got.push(decodeFrame(new Uint8Array(d))));
  ws.on('close', (code) => (closed = code));
  await new Promise((r) => ws.once('open', r));
  const until = async (f: () => boolean) => {
    for (let i = 0; i < 1000 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(f()).toBe(true);
  };
  const send = (m: Message) => ws.send(encodeFrame(m));
  /** The first received message of this type (after `until` has seen one). */
  const first = (type: Message['type']) => got.find((m) => m.type === type);
  /** Says hello with the site's token and waits for the welcome. */
  const join = async (token: string) => {
    send(hello(token));
    await until(() => first('welcome') !== undefined);
  };
  /** Sends a scores message for `round` and waits for the coordinator's error reply. */
  const scoresExpectingError = async (round: number, scores: number[], numSamples: number) => {
    send({ type: 'scores', round, scores: { layers: LAYERS, scores }, numSamples, ms: 0 });
    await until(() => first('error') !== undefined);
    return first('error') as { code: string; message: string; round?: number };
  };
  return { ws, got, closed: () => closed, until, send, join, scoresExpectingError };
}

const hello = (token: string): Message => ({
  type: 'hello',
  version: PROTOCOL_VERSION,
  token,
  backend: 'node',
  numSamples: 10,
  haveVersion: null,
});

describe('bad input', () => {
  it('answers each bad frame with the documented error and keeps serving others', async () => {
    const c = await startCoordinator({ dataDir: tmpDir(), config: testConfig({ rounds: 2 }) });
    apps.push(c.app);
    const good = [fakeSite(1), fakeSite(2)];
    const tokens = good.map((_, i) => c.app.store.addSite(`good${i}`, 2));
    const evilToken = c.app.store.addSite('evil', 2);

    // wrong token -> auth error + close 4001
    const a = await raw(c.url);
    a.send(hello('not-a-token'));
    await a.until(() => a.closed() !== null);
    expect(a.got[0]).toMatchObject({ type: 'error', code: 'auth' });
    expect(a.closed()).toBe(4001);

    // wrong protocol version -> version error
    const v = await raw(c.url);
    v.ws.send(encode({ ...hello(evilToken), version: 999 }));
    await v.until(() => v.closed() !== null);
    expect(v.got[0]).toMatchObject({ type: 'error', code: 'version' });

    // a version-1 site (bare score lists) is told to update, not misread
    const old = await raw(c.url);
    old.ws.send(encode({ ...hello(evilToken), version: 1 }));
    await old.until(() => old.closed() !== null);
    expect(old.got[0]).toMatchObject({ type: 'error', code: 'version' });
    expect((old.got[0] as { message: string }).message).toMatch(
      /protocol version 1 is not supported; this coordinator speaks 2/,
    );

    // malformed msgpack, schema-invalid, oversized: one error each, then close after 3
    const b = await raw(c.url);
    b.ws.send(new Uint8Array([0xc1, 0xff]));
    await b.until(() => b.got.length === 1);
    expect(b.got[0]).toMatchObject({ type: 'error', code: 'bad-frame' });
    expect((b.got[0] as { message: string }).message).toMatch(/malformed msgpack/);
    b.ws.send(encode({ type: 'hello', version: PROTOCOL_VERSION, token: 5 }));
    await b.until(() => b.got.length === 2);
    expect(b.got[1]).toMatchObject({ type: 'error', code: 'bad-frame' });
    expect((b.got[1] as { message: string }).message).toMatch(/\/token/);
    // over the frame limit (sized to the model: ~66 KB here) but under ws's hard cap
    b.ws.send(new Uint8Array(100 * 1024));
    await b.until(() => b.closed() !== null);
    expect(b.got[2]).toMatchObject({ type: 'error', code: 'too-large' });
    expect(b.closed()).toBe(1008);
    // far over: ws itself closes with 1009 (message too big)
    const h = await raw(c.url);
    h.ws.send(new Uint8Array(1024 * 1024));
    await h.until(() => h.closed() !== null);
    expect(h.closed()).toBe(1009);

    // a joined site sending a stale round
    const s = await raw(c.url);
    await s.join(evilToken);
    expect(await s.scoresExpectingError(99, [0.25, 0.25, 0.25, 0.25], 1)).toMatchObject({
      code: 'stale-round',
      round: 99,
    });
    s.ws.close();

    // the good sites still federate to the end
    const runs = good.map((g, i) => runSite(c.url, tokens[i], g));
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done']);
    expect(c.app.store.rounds().map((r) => r.round)).toEqual([0, 1, 2]);
  });

  it('answers all-zero LNTK scores with bad-scores and goes on without that site', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({
        rounds: 1,
        minClients: 2,
        quorumGraceMs: 1000,
        deadlines: { scores: 5000, train: 5000, evaluate: 1500 },
      }),
    });
    apps.push(c.app);
    const zeroToken = c.app.store.addSite('zero', 2);
    const tokens = [0, 1].map((i) => c.app.store.addSite(`good${i}`, 2));
    const z = await raw(c.url);
    await z.join(zeroToken);
    const runs = tokens.map((t, i) => runSite(c.url, t, fakeSite(i)));
    // round 0 is evaluate-only: answer it, then score round 1 with an all-zero row
    await z.until(() => z.got.some((m) => m.type === 'round-start' && m.phase === 'evaluate'));
    z.send({
      type: 'evaluation',
      round: 0,
      metrics: { accuracy: 0, loss: 1, numSamples: 1, perType: {} },
    });
    await z.until(() => z.got.some((m) => m.type === 'round-start' && m.phase === 'scores'));
    expect(await z.scoresExpectingError(1, [0, 0, 0, 0], 1)).toMatchObject({
      code: 'bad-scores',
      round: 1,
    });
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done']);
    z.ws.close();
    expect(Object.keys(c.app.store.selections(1)).sort()).toEqual(['good0', 'good1']);
  });

  it('refuses NaN, unassigned-layer and wrong-shape updates (never aggregated); round goes on', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      // 2 good of 5: the round needs max(2, ceil(0.4 * 5)) = 2 valid updates
      config: testConfig({ rounds: 1, minClients: 2, minCompletionRate: 0.4 }),
    });
    apps.push(c.app);
    const good = [fakeSite(1), fakeSite(2)];
    const tokens = good.map((_, i) => c.app.store.addSite(`good${i}`, 2));
    const nanSite = fakeSite(3);
    const nanErrors: Message[] = [];
    // Encodes NaN on purpose (the real codec refuses to), as a hostile site would.
    const nanClient = new SiteClient({
      token: c.app.store.addSite('nan', 2),
      backend: 'node',
      compute: nanSite,
      codec: {
        encode: (d) =>
          encode({
            v: 1,
            codec: 'fp32',
            tensors: Object.entries(d).map(([name, t]) => ({
              name,
              shape: t.shape,
              dtype: 'float32',
              data: new Uint8Array(Float32Array.from(t.data, () => NaN).buffer),
            })),
          }),
        decode: (b) => decodeUpdate(b),
      },
      onTraffic: (dir, _n, m) => {
        if (dir === 'down' && m.type === 'error') nanErrors.push(m);
      },
    });
    const extraSite = fakeSite(4);
    extraSite.poison = 'unassigned';
    const extraErrors: Message[] = [];
    const extraClient = new SiteClient({
      token: c.app.store.addSite('extra', 2),
      backend: 'node',
      compute: extraSite,
      onTraffic: (dir, _n, m) => {
        if (dir === 'down' && m.type === 'error') extraErrors.push(m);
      },
    });
    const shapeSite = fakeSite(5);
    shapeSite.poison = 'shape';
    const shapeErrors: Message[] = [];
    const shapeClient = new SiteClient({
      token: c.app.store.addSite('shape', 2),
      backend: 'node',
      compute: shapeSite,
      onTraffic: (dir, _n, m) => {
        if (dir === 'down' && m.type === 'error') shapeErrors.push(m);
      },
    });
    const runs = [
      ...good.map((g, i) => runSite(c.url, tokens[i], g).done),
      nanClient.run(() => connectWs(c.url)),
      extraClient.run(() => connectWs(c.url)),
      shapeClient.run(() => connectWs(c.url)),
    ];
    expect(await Promise.all(runs)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(shapeErrors[0]).toMatchObject({ code: 'bad-update', round: 1 });
    expect((shapeErrors[0] as { message: string }).message).toMatch(/shape/);
    expect(nanErrors[0]).toMatchObject({ code: 'bad-update', round: 1 });
    expect((nanErrors[0] as { message: string }).message).toMatch(/NaN|finite/i);
    expect(extraErrors[0]).toMatchObject({ code: 'bad-update', round: 1 });
    const g = c.app.engine.global;
    for (const t of Object.values(g)) expect(t.data.every(Number.isFinite)).toBe(true);
    const trained = c.app.store.clientMetrics(1, 'train');
    expect(Object.keys(trained).sort()).toEqual(['good0', 'good1']);
  });
});

describe('faults', () => {
  it('a site that disconnects during training does not stall the round', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({
        rounds: 1,
        minClients: 2,
        deadlines: { scores: 5000, train: 60_000, evaluate: 5000 },
      }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2), fakeSite(3)];
    const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, 2));
    const leaver = sites[2];
    leaver.trainDelay = 30_000;
    const runs = sites.slice(0, 2).map((s, i) => runSite(c.url, tokens[i], s));
    const leaverClient = new SiteClient({ token: tokens[2], backend: 'node', compute: leaver });
    const t = await connectWs(c.url);
    const leaverDone = leaverClient.attach(t);
    const started = Date.now();
    // leave as soon as training starts
    await new Promise<void>((resolve) => {
      const iv = setInterval(() => {
        if (leaver.trained.length > 0) {
          clearInterval(iv);
          t.close();
          resolve();
        }
      }, 5);
    });
    expect(await leaverDone).toBe('closed');
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(Object.keys(c.app.store.selections(1)).sort()).toEqual(['s0', 's1']);
  });

  it('a site that sent its update and then left is not aggregated (its buffered update is dropped)', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({ rounds: 1, minClients: 2 }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2), fakeSite(3)];
    sites[1].trainDelay = 1500; // keeps the train phase open after s0 has sent
    const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, 2));
    const runs = [1, 2].map((i) => runSite(c.url, tokens[i], sites[i]));
    let sent!: () => void;
    const updateSent = new Promise<void>((r) => (sent = r));
    const leaver = new SiteClient({
      token: tokens[0],
      backend: 'node',
      compute: sites[0],
      onTraffic: (dir, _n, m) => dir === 'up' && m.type === 'update' && sent(),
    });
    const t = await connectWs(c.url);
    const leaverDone = leaver.attach(t);
    await updateSent;
    await new Promise((r) => setTimeout(r, 100)); // the coordinator has buffered it
    expect(c.app.engine.phase).toBe('train');
    t.close();
    expect(await leaverDone).toBe('closed');
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done']);
    expect(Object.keys(c.app.store.clientMetrics(1, 'train')).sort()).toEqual(['s1', 's2']);
    expect(Object.keys(c.app.store.selections(1)).sort()).toEqual(['s1', 's2']);
  });

  it('a site whose local training fails reports it and is not waited for', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({
        rounds: 1,
        minClients: 2,
        deadlines: { scores: 5000, train: 60_000, evaluate: 5000 },
      }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2), fakeSite(3)];
    sites[2].train = async () => {
      throw new Error('out of memory (simulated)');
    };
    const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, 2));
    const started = Date.now();
    const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done', 'done']);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(Object.keys(c.app.store.clientMetrics(1, 'train')).sort()).toEqual(['s0', 's1']);
  });

  it('a site that hangs is cut off by the train deadline; quorum completes the round', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({
        rounds: 1,
        minClients: 2,
        minCompletionRate: 0.6,
        deadlines: { scores: 5000, train: 1500, evaluate: 3000 },
      }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2), fakeSite(3)];
    sites[2].trainDelay = 4000;
    const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, 2));
    const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done', 'done']);
    expect(Object.keys(c.app.store.clientMetrics(1, 'train')).sort()).toEqual(['s0', 's1']);
  });

  it('resumes after a restart at the next round with bit-identical global weights', async () => {
    const dataDir = tmpDir();
    const config = testConfig({ rounds: 3, minClients: 2 });
    const c1 = await startCoordinator({ dataDir, config });
    const sites = [fakeSite(1), fakeSite(2)];
    const tokens = sites.map((_, i) => c1.app.store.addSite(`s${i}`, 2));
    sites[0].trainDelay = 300;
    const r1 = sites.map((s, i) => runSite(c1.url, tokens[i], s));
    await new Promise<void>((resolve) =>
      c1.app.engine.on('round', (r: number) => r === 1 && resolve()),
    );
    const afterRound1 = structuredClone(c1.app.engine.global);
    // kill it between rounds (round 2 has started but is not stored)
    await c1.app.close();
    await Promise.all(r1.map((r) => r.client.leave()));

    const c2 = await startCoordinator({ dataDir, config });
    apps.push(c2.app);
    expect(c2.app.engine.version).toBe(1);
    expect(c2.app.engine.round).toBe(2);
    const g = c2.app.engine.global;
    expect(Object.keys(g).sort()).toEqual(Object.keys(afterRound1).sort());
    for (const k of Object.keys(g)) {
      expect(Buffer.from(g[k].data.buffer).equals(Buffer.from(afterRound1[k].data.buffer))).toBe(
        true,
      );
    }
    const r2 = sites.map((s, i) => runSite(c2.url, tokens[i], s));
    expect(await Promise.all(r2.map((r) => r.done))).toEqual(['done', 'done']);
    expect(c2.app.store.rounds().map((r) => r.round)).toEqual([0, 1, 2, 3]);
  });
});

describe('round engine rules', () => {
  it('a late joiner is refused for the running round and trains from the next one', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({ rounds: 2, minClients: 2 }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2)];
    sites[0].trainDelay = 400;
    const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, 2));
    const lateToken = c.app.store.addSite('late', 2);
    const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
    await new Promise<void>((resolve) =>
      c.app.engine.on('change', () => c.app.engine.phase === 'train' && resolve()),
    );
    // a raw late joiner that answers round 1 anyway is refused
    const r = await raw(c.url);
    await r.join(lateToken);
    const err = await r.scoresExpectingError(1, [1, 0, 0, 0], 5);
    expect(err.code).toBe('stale-round');
    expect(err.message).toMatch(/late joiners wait/);
    r.ws.close();
    // a proper late site joins and is in round 2's cohort
    const late = fakeSite(9);
    const lateRun = runSite(c.url, lateToken, late);
    expect(await Promise.all([...runs.map((x) => x.done), lateRun.done])).toEqual([
      'done',
      'done',
      'done',
    ]);
    expect(Object.keys(c.app.store.selections(1)).sort()).toEqual(['s0', 's1']);
    expect(Object.keys(c.app.store.selections(2)).sort()).toEqual(['late', 's0', 's1']);
    expect(late.trained.map((t) => t.round)).toEqual([2]);
  });

  it('aborts a round below minCompletionRate and retries it', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({
        rounds: 1,
        minClients: 2,
        minCompletionRate: 1,
        deadlines: { scores: 5000, train: 1500, evaluate: 5000 },
      }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2), fakeSite(3)];
    sites[2].trainDelay = 4000;
    const origTrain = sites[2].train.bind(sites[2]);
    sites[2].train = async (l, cfg) => {
      const r = await origTrain(l, cfg);
      sites[2].trainDelay = 0; // only the first attempt is late
      return r;
    };
    const aborted: string[] = [];
    c.app.engine.on('aborted', (_r: number, reason: string) => aborted.push(reason));
    const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, 2));
    const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done', 'done']);
    expect(aborted[0]).toMatch(/only 2 of 3 sites sent updates \(need 3\)/);
    expect(c.app.store.rounds().map((r) => r.round)).toEqual([0, 1]);
    expect(Object.keys(c.app.store.selections(1)).sort()).toEqual(['s0', 's1', 's2']);
  });

  it('backs off between aborted attempts, stores them, pauses after the cap, resumes', async () => {
    const c = await startCoordinator({
      dataDir: tmpDir(),
      config: testConfig({
        rounds: 1,
        minClients: 2,
        minCompletionRate: 1,
        quorumGraceMs: 0,
        abortBackoffMs: 100,
        maxConsecutiveAborts: 3,
      }),
    });
    apps.push(c.app);
    const sites = [fakeSite(1), fakeSite(2)];
    let failing = true;
    for (const site of sites) {
      const score = site.computeScores.bind(site);
      site.computeScores = async (req) => {
        if (failing) throw new Error('scorer crashed');
        return score(req);
      };
    }
    const attempts: number[] = [];
    c.app.engine.on('aborted', () => attempts.push(Date.now()));
    const paused = new Promise<string>((r) => c.app.engine.once('paused', r));
    const tokens = sites.map((_, i) => c.app.store.addSite(`p${i}`, 2));
    const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
    const reason = await paused;
    expect(reason).toMatch(
      /^paused after 3 aborted attempts of round 1 in a row; last: only 0 of 2 sites sent scores \(need 2\)$/,
    );
    // back-off 100 ms, then 200 ms: never a tight loop
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(90);
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(190);
    const row = c.app.store.rounds().find((r) => r.round === 1)!;
    expect(row).toMatchObject({ status: 'aborted', aborts: 3 });
    expect(row.reason).toMatch(/only 0 of 2 sites sent scores/);
    const state = (await (
      await fetch(`${c.http}/api/state`, { headers: { authorization: 'Bearer admin-secret' } })
    ).json()) as {
      phase: string;
      pausedReason: string | null;
    };
    expect(state.phase).toBe('paused');
    expect(state.pausedReason).toBe(reason);

    failing = false;
    c.app.engine.resume();
    expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done']);
    expect(c.app.store.rounds().find((r) => r.round === 1)).toMatchObject({
      status: 'completed',
      aborts: 3,
    });
    expect(c.app.engine.pausedReason).toBeNull();
  });

  it('terminates a site that stops answering pings and drops it from the engine', async () => {
    const c = await startCoordinator({ dataDir: tmpDir(), heartbeatMs: 100, autoStart: false });
    apps.push(c.app);
    const token = c.app.store.addSite('mute', 2);
    const ws = new WebSocket(c.url, { autoPong: false });
    let closed = false;
    ws.on('close', () => (closed = true));
    await new Promise((r) => ws.once('open', r));
    ws.send(encodeFrame(hello(token)));
    for (let i = 0; i < 100 && !c.app.engine.sessions.has('mute'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(c.app.engine.sessions.has('mute')).toBe(true);
    for (let i = 0; i < 200 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(true);
    expect(c.app.engine.sessions.has('mute')).toBe(false);
  });

  it('a second connection of the same site replaces the first (duplicate + close 4000)', async () => {
    const c = await startCoordinator({ dataDir: tmpDir(), autoStart: false });
    apps.push(c.app);
    const token = c.app.store.addSite('twice', 2);
    const a = await raw(c.url);
    await a.join(token);
    const first = c.app.engine.sessions.get('twice');
    const b = await raw(c.url);
    await b.join(token);
    await a.until(() => a.closed() !== null);
    expect(a.got.at(-1)).toMatchObject({ type: 'error', code: 'duplicate' });
    expect(a.closed()).toBe(4000);
    expect(c.app.engine.sessions.get('twice')).not.toBe(first);
    expect(c.app.engine.sessions.has('twice')).toBe(true);
    b.ws.close();
  });

  it('config errors name the field', async () => {
    const { resolveConfig } = await import('../src/config.js');
    expect(() => resolveConfig({ rounds: 0 })).toThrow(/\/rounds/);
    expect(() => resolveConfig({ strategy: 'nope' as never })).toThrow(/\/strategy/);
    expect(() => resolveConfig({ codec: 'zip' as never })).toThrow(/\/codec/);
    expect(() => resolveConfig({ bogus: 1 } as never)).toThrow(/bogus|additional/);
  });
});
