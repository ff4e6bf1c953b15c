import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type Message } from '../src/federated/protocol.js';
import {
  SiteClient,
  type LocalCompute,
  type Transport,
  type UpdateCodec,
} from '../src/federated/site-client.js';
import type { NamedArrays } from '../src/tensors/named.js';

/** Lossless test codec (JSON of plain arrays); the real one lives in codecs.ts. */
const jsonCodec: UpdateCodec = {
  encode: (d) =>
    new TextEncoder().encode(
      JSON.stringify(Object.entries(d).map(([k, v]) => [k, v.shape, [...v.data]])),
    ),
  decode: (b) => {
    const out: NamedArrays = {};
    for (const [k, shape, data] of JSON.parse(new TextDecoder().decode(b)) as [
      string,
      number[],
      number[],
    ][])
      out[k] = { shape, data: Float32Array.from(data) };
    return out;
  },
};

/** An in-memory pipe whose far end is driven by the test. */
function pipe() {
  const sent: Message[] = [];
  let onMsg: (b: Uint8Array) => void = () => {};
  let onClose: (r: string) => void = () => {};
  let closed = false;
  const t: Transport = {
    send: (b) => sent.push(decodeFrame(b)),
    onMessage: (h) => (onMsg = h),
    onClose: (h) => (onClose = h),
    close: () => {
      if (!closed) {
        closed = true;
        onClose('closed');
      }
    },
  };
  return {
    t,
    sent,
    push: (m: Message) => onMsg(encodeFrame(m)),
    isClosed: () => closed,
  };
}

const config = {
  scoreMethod: 'lntk',
  steps: 1,
  batchSize: 2,
  lr: 0.1,
  weightDecay: 0,
  codec: 'fp32',
  budget: 1,
  seed: 1,
} as const;

function fakeCompute(log: string[]): LocalCompute {
  let w = 0;
  return {
    numSamples: () => 12,
    computeScores: async ({ method, round, layers }) => {
      log.push(`scores:${method}:${round}`);
      const scores = layers.map((_, i) => (i + 1) / ((layers.length * (layers.length + 1)) / 2));
      return { layers, scores };
    },
    train: async (layers, c) => {
      log.push(`train:${layers.join(',')}:${c.round}`);
      return {
        deltas: { 'head/b': { shape: [1], data: Float32Array.of(w + 1) } },
        metrics: { loss: 1, accuracy: 0.5, perType: {} },
      };
    },
    evaluate: async () => ({ accuracy: 0.75, loss: 0.5, numSamples: 4, perType: {} }),
    setGlobal: (p) => {
      w = p['head/b'].data[0];
      log.push(`global:${w}`);
    },
  };
}

const until = async (f: () => boolean) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(f()).toBe(true);
};

describe('SiteClient', () => {
  it('walks hello -> scores -> update -> evaluation -> done', async () => {
    const log: string[] = [];
    const p = pipe();
    const client = new SiteClient({
      token: 'tok',
      backend: 'node',
      compute: fakeCompute(log),
      codec: jsonCodec,
    });
    const done = client.attach(p.t);
    expect(p.sent[0]).toMatchObject({ type: 'hello', token: 'tok', numSamples: 12 });
    p.push({
      type: 'welcome',
      version: 1,
      site: 's',
      budget: 1,
      layers: ['a', 'b'],
      strategy: 'f3ocus',
      round: 1,
      totalRounds: 1,
      modelUrl: '/m',
    });
    const g = { 'head/b': { shape: [1], data: Float32Array.of(3) } };
    p.push({
      type: 'round-start',
      round: 1,
      phase: 'scores',
      global: {
        version: 0,
        from: null,
        params: { codec: 'fp32', bytes: jsonCodec.encode(g, 'fp32') },
      },
      config,
    });
    await until(() => p.sent.length === 2);
    const scores = p.sent[1] as Extract<Message, { type: 'scores' }>;
    expect(scores.round).toBe(1);
    expect(scores.scores.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(scores.scores.layers).toEqual(['a', 'b']);
    expect(client.version).toBe(0);
    p.push({ type: 'assignment', round: 1, layers: ['b'] });
    await until(() => p.sent.length === 3);
    const upd = p.sent[2] as Extract<Message, { type: 'update' }>;
    expect(upd.type).toBe('update');
    expect(jsonCodec.decode(upd.deltas.bytes)['head/b'].data[0]).toBe(4);
    p.push({ type: 'round-start', round: 1, phase: 'evaluate', global: null, config });
    await until(() => p.sent.length === 4);
    expect(p.sent[3]).toMatchObject({ type: 'evaluation', round: 1, metrics: { accuracy: 0.75 } });
    p.push({ type: 'round-end', round: 1, status: 'completed', accuracy: 0.75, done: true });
    expect(await done).toBe('done');
    expect(log).toEqual(['global:3', 'scores:lntk:1', 'train:b:1']);
  });

  it('stops on an auth error and reconnects after a plain close, sending its version', async () => {
    const log: string[] = [];
    const client = new SiteClient({
      token: 'bad',
      backend: 'node',
      compute: fakeCompute(log),
      codec: jsonCodec,
    });
    const p1 = pipe();
    const r1 = client.attach(p1.t);
    p1.push({
      type: 'round-start',
      round: 2,
      phase: 'evaluate',
      global: {
        version: 5,
        from: null,
        params: {
          codec: 'fp32',
          bytes: jsonCodec.encode({ 'head/b': { shape: [1], data: Float32Array.of(1) } }, 'fp32'),
        },
      },
      config,
    });
    await until(() => p1.sent.length === 2);
    p1.t.close();
    expect(await r1).toBe('closed');
    const p2 = pipe();
    const r2 = client.attach(p2.t);
    expect(p2.sent[0]).toMatchObject({ type: 'hello', haveVersion: 5 });
    // a diff from a version this site does not hold: it asks for a fresh start
    p2.push({
      type: 'round-start',
      round: 3,
      phase: 'evaluate',
      global: { version: 7, from: 6, params: { codec: 'fp32', bytes: new Uint8Array() } },
      config,
    });
    expect(await r2).toBe('closed');
    expect(client.version).toBe(null);
    const p3 = pipe();
    const r3 = client.attach(p3.t);
    p3.push({ type: 'error', code: 'auth', message: 'unknown token' });
    expect(await r3).toBe('fatal');
    expect(client.state.phase).toBe('failed');
  });
});
