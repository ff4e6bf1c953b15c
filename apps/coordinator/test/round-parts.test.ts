/** Unit tests of the round engine's parts, each on its own (no sockets, no tfjs). */
import { describe, expect, it, vi } from 'vitest';
import { decodeUpdate, encodeUpdate, type Message, type Narrow } from '@focus-fl/core/federated';
import type { NamedArrays } from '@focus-fl/core/tensors';
import { abortBackoffMs, MAX_BACKOFF_MS } from '../src/engine.js';
import { GlobalWeightsCache } from '../src/round/global-cache.js';
import { PhaseCollector } from '../src/round/phase-collector.js';
import { SessionRegistry, type SiteSession } from '../src/round/sessions.js';
import { checkScores, checkUpdate } from '../src/round/site-messages.js';

const LAYERS = ['block0.adapter', 'block1.adapter'];
const vec = (x: number, n = 3) => ({ shape: [n], data: new Float32Array(n).fill(x) });
const GLOBAL: NamedArrays = {
  'block0.adapter/w': vec(0),
  'block1.adapter/w': vec(0),
  'head/w': vec(0, 2),
};

function session(site: string): SiteSession & { sent: Message[]; closed: number | null } {
  const s = {
    site,
    budget: 1,
    backend: 'node',
    knownVersion: null,
    sent: [] as Message[],
    closed: null as number | null,
    send: (m: Message) => s.sent.push(m),
    close: (code: number) => (s.closed = code),
  };
  return s;
}

describe('SessionRegistry', () => {
  it('one session per site: a second connection replaces the first with duplicate + 4000', () => {
    const reg = new SessionRegistry();
    const left: string[] = [];
    reg.on('left', (s) => left.push(s.site));
    const a1 = session('a');
    const a2 = session('a');
    reg.join(a1);
    reg.join(a2);
    expect(reg.get('a')).toBe(a2);
    expect(a1.sent[0]).toMatchObject({ type: 'error', code: 'duplicate' });
    expect(a1.closed).toBe(4000);
    expect(left).toEqual(['a']);
    reg.leave(a1); // the replaced session's late close is ignored
    expect(reg.has('a')).toBe(true);
    reg.leave(a2);
    expect(reg.size).toBe(0);
    expect(left).toEqual(['a', 'a']);
  });
});

describe('site message checks (pure)', () => {
  const scores = (layers: string[], values: number[]): Narrow<'scores'> => ({
    type: 'scores',
    round: 1,
    scores: { layers, scores: values },
    numSamples: 4,
    ms: 1,
  });

  it('scores: names must cover exactly the layers; LNTK rows non-negative and not all zero', () => {
    const ctx = { layers: LAYERS, scoreMethod: 'lntk' as const };
    expect(checkScores(scores(LAYERS, [0.3, 0.7]), ctx)).toEqual({
      scores: { layers: LAYERS, scores: [0.3, 0.7] },
      numSamples: 4,
    });
    // any order of names is fine: the solver's edge aligns them
    expect(checkScores(scores([...LAYERS].reverse(), [0.7, 0.3]), ctx).numSamples).toBe(4);
    expect(() => checkScores(scores(LAYERS.slice(0, 1), [1]), ctx)).toThrow(
      /no score for layer "block1.adapter"/,
    );
    expect(() => checkScores(scores(['block0.adapter', 'blockX'], [1, 1]), ctx)).toThrow(
      /unknown layer "blockX"/,
    );
    expect(() => checkScores(scores(['block0.adapter', 'block0.adapter'], [1, 1]), ctx)).toThrow(
      /scored twice/,
    );
    expect(() => checkScores(scores(LAYERS, [-0.1, 1.1]), ctx)).toThrow(/must be >= 0/);
    expect(() => checkScores(scores(LAYERS, [0, 0]), ctx)).toThrow(/all zero/);
    // baseline scorers are only ranked: negative values pass
    expect(() =>
      checkScores(scores(LAYERS, [-1, 2]), { layers: LAYERS, scoreMethod: 'grasp' }),
    ).not.toThrow();
  });

  it('updates: only the assigned layers plus head, complete, finite', () => {
    const upd = (deltas: NamedArrays, numSamples = 5): Narrow<'update'> => ({
      type: 'update',
      round: 1,
      deltas: { codec: 'fp32', bytes: encodeUpdate(deltas, 'fp32') },
      numSamples,
      metrics: { loss: 1, accuracy: 0.5, perType: {}, ms: 1 },
    });
    const ctx = { global: GLOBAL, assigned: ['block1.adapter'] };
    const ok = checkUpdate(upd({ 'block1.adapter/w': vec(1), 'head/w': vec(1, 2) }), ctx);
    expect(Object.keys(ok.deltas).sort()).toEqual(['block1.adapter/w', 'head/w']);
    expect(() =>
      checkUpdate(upd({ 'block0.adapter/w': vec(1), 'head/w': vec(1, 2) }), ctx),
    ).toThrow(/block0.adapter\/w/);
    expect(() => checkUpdate(upd({ 'head/w': vec(1, 2) }), ctx)).toThrow(
      /lacks assigned params: block1.adapter\/w/,
    );
    expect(() =>
      checkUpdate(upd({ 'block1.adapter/w': vec(NaN), 'head/w': vec(1, 2) }), ctx),
    ).toThrow(/NaN|non-finite/);
    expect(() =>
      checkUpdate(upd({ 'block1.adapter/w': vec(1), 'head/w': vec(1, 2) }, 0), ctx),
    ).toThrow(/numSamples must be > 0/);
  });
});

describe('PhaseCollector', () => {
  it('ends when every expected site answered or was released; a departed site is dropped', async () => {
    const c = new PhaseCollector<number>(['a', 'b', 'c'], 10_000);
    c.answer('a', 1);
    c.answer('x', 9); // not expected: ignored
    c.answer('b', 2);
    c.drop('b'); // left after answering: its answer is not kept
    expect(c.isFinished).toBe(false);
    c.release('c');
    const got = await c.done;
    expect([...got]).toEqual([['a', 1]]);
  });

  it('ends at the deadline and names the missing sites', async () => {
    vi.useFakeTimers();
    try {
      const missing: string[][] = [];
      const c = new PhaseCollector<number>(['a', 'b'], 50, (m) => missing.push(m));
      c.answer('a', 1);
      vi.advanceTimersByTime(60);
      expect([...(await c.done).keys()]).toEqual(['a']);
      expect(missing).toEqual([['b']]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('with nobody expected, ends at once', async () => {
    expect((await new PhaseCollector([], 1000).done).size).toBe(0);
  });
});

describe('GlobalWeightsCache', () => {
  it('sends nothing, the changed layers, or everything; encodes each payload once', () => {
    const cache = new GlobalWeightsCache(0, GLOBAL, []);
    expect(cache.payloadFor(0)).toBeNull();
    const next = { ...GLOBAL, 'block1.adapter/w': vec(2), 'head/w': vec(2, 2) };
    cache.set(1, next, ['block1.adapter', 'head']);
    const diff = cache.payloadFor(0)!;
    expect(diff.from).toBe(0);
    expect(Object.keys(decodeUpdate(diff.params.bytes)).sort()).toEqual([
      'block1.adapter/w',
      'head/w',
    ]);
    expect(cache.payloadFor(0)!.params.bytes).toBe(diff.params.bytes); // shared bytes
    for (const held of [null, 5]) {
      const full = cache.payloadFor(held)!;
      expect(full.from).toBeNull();
      expect(Object.keys(decodeUpdate(full.params.bytes)).length).toBe(3);
    }
  });
});

describe('abort back-off', () => {
  it('doubles with every abort in a row, capped', () => {
    expect([1, 2, 3, 4].map((k) => abortBackoffMs(1000, k))).toEqual([1000, 2000, 4000, 8000]);
    expect(abortBackoffMs(1000, 30)).toBe(MAX_BACKOFF_MS);
    expect(abortBackoffMs(0, 3)).toBe(0);
  });
});
