import { describe, expect, it } from 'vitest';
import {
  aggregateMasked,
  aggregateMaskedDetailed,
  type ClientUpdate,
} from '../src/federated/aggregate.js';
import type { NamedArrays } from '../src/tensors/named.js';
import { mulberry32 } from '../src/random.js';

const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });

/** Three adapter layers (two params each) and a head. */
function global(): NamedArrays {
  return {
    'block0.adapter/w': t([2], [1, 2]),
    'block0.adapter/b': t([1], [0]),
    'block1.adapter/w': t([2], [10, 20]),
    'block1.adapter/b': t([1], [5]),
    'block2.adapter/w': t([2], [-1, -1]),
    'block2.adapter/b': t([1], [3]),
    'head/kernel': t([2, 2], [0, 0, 0, 0]),
  };
}

function vals(p: NamedArrays, name: string): number[] {
  return Array.from(p[name].data);
}

describe('aggregateMasked (hand-computed)', () => {
  // Client A (n=1) trains block0 + head; client B (n=3) trains block0, block1 + head; no one
  // trains block2.
  const updates: ClientUpdate[] = [
    {
      client: 'A',
      numSamples: 1,
      deltas: {
        'block0.adapter/w': t([2], [4, 8]),
        'block0.adapter/b': t([1], [1]),
        'head/kernel': t([2, 2], [1, 1, 1, 1]),
      },
    },
    {
      client: 'B',
      numSamples: 3,
      deltas: {
        'block0.adapter/w': t([2], [0, 4]),
        'block0.adapter/b': t([1], [-1]),
        'block1.adapter/w': t([2], [2, -2]),
        'block1.adapter/b': t([1], [0.5]),
        'head/kernel': t([2, 2], [5, -3, 1, 0]),
      },
    },
  ];

  it('weights each layer by the samples of the clients that trained it', () => {
    const r = aggregateMaskedDetailed(global(), updates);
    // block0: (1*[4,8] + 3*[0,4]) / 4 = [1, 5]  -> [1+1, 2+5]
    expect(vals(r.params, 'block0.adapter/w')).toEqual([2, 7]);
    // (1*1 + 3*(-1)) / 4 = -0.5
    expect(vals(r.params, 'block0.adapter/b')).toEqual([-0.5]);
    // block1 trained only by B: its delta, unscaled by A's absence.
    expect(vals(r.params, 'block1.adapter/w')).toEqual([12, 18]);
    expect(vals(r.params, 'block1.adapter/b')).toEqual([5.5]);
    // block2 trained by no one: unchanged.
    expect(vals(r.params, 'block2.adapter/w')).toEqual([-1, -1]);
    expect(vals(r.params, 'block2.adapter/b')).toEqual([3]);
    // head over all: (1*[1,1,1,1] + 3*[5,-3,1,0]) / 4 = [4, -2, 1, 0.25]
    expect(vals(r.params, 'head/kernel')).toEqual([4, -2, 1, 0.25]);
    expect(r.contributors).toEqual({
      'block0.adapter': 2,
      'block1.adapter': 1,
      'block2.adapter': 0,
      head: 2,
    });
    expect(r.weights).toEqual({
      'block0.adapter': 4,
      'block1.adapter': 3,
      'block2.adapter': 0,
      head: 4,
    });
  });

  it('does not modify its inputs and returns fresh arrays', () => {
    const g = global();
    const before = vals(g, 'block2.adapter/w');
    const out = aggregateMasked(g, updates);
    expect(vals(g, 'block2.adapter/w')).toEqual(before);
    expect(vals(g, 'block0.adapter/w')).toEqual([1, 2]);
    expect(out['block2.adapter/w'].data).not.toBe(g['block2.adapter/w'].data);
    expect(out['head/kernel'].shape).toEqual([2, 2]);
  });

  it('with no updates keeps the global model', () => {
    const g = global();
    const out = aggregateMaskedDetailed(g, []);
    for (const name of Object.keys(g)) expect(vals(out.params, name)).toEqual(vals(g, name));
    expect(out.contributors['block0.adapter']).toBe(0);
  });
});

function randomUpdates(seed: number, clients: number): { g: NamedArrays; u: ClientUpdate[] } {
  const r = mulberry32(seed);
  const shapes: Record<string, number[]> = {
    'block0.adapter/down': [3, 2],
    'block0.adapter/up': [2, 3],
    'block1.adapter/down': [3, 2],
    'block1.adapter/up': [2, 3],
    'block2.adapter/down': [3, 2],
    'block2.adapter/up': [2, 3],
    'head/kernel': [3, 4],
  };
  const rnd = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { shape, data: Float32Array.from({ length: n }, () => r() * 2 - 1) };
  };
  const g: NamedArrays = {};
  for (const [k, s] of Object.entries(shapes)) g[k] = rnd(s);
  const u: ClientUpdate[] = [];
  for (let c = 0; c < clients; c++) {
    const deltas: NamedArrays = {};
    for (const l of ['block0.adapter', 'block1.adapter', 'block2.adapter']) {
      if (r() < 0.5) {
        deltas[`${l}/down`] = rnd(shapes[`${l}/down`]);
        deltas[`${l}/up`] = rnd(shapes[`${l}/up`]);
      }
    }
    deltas['head/kernel'] = rnd(shapes['head/kernel']);
    u.push({ client: `c${c}`, numSamples: 1 + Math.floor(r() * 100), deltas });
  }
  return { g, u };
}

/** Independent reference: per-parameter masked mean computed element by element in float64. */
function reference(g: NamedArrays, u: ClientUpdate[]): NamedArrays {
  const out: NamedArrays = {};
  for (const [name, p] of Object.entries(g)) {
    const data = new Float32Array(p.data.length);
    for (let k = 0; k < data.length; k++) {
      let num = 0;
      let den = 0;
      for (const x of u) {
        if (x.deltas[name]) {
          num += x.numSamples * x.deltas[name].data[k];
          den += x.numSamples;
        }
      }
      data[k] = den > 0 ? p.data[k] + num / den : p.data[k];
    }
    out[name] = { shape: p.shape, data };
  }
  return out;
}

function expectClose(a: NamedArrays, b: NamedArrays, tol: number) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const name of Object.keys(a)) {
    const x = a[name].data;
    const y = b[name].data;
    for (let k = 0; k < x.length; k++) expect(Math.abs(x[k] - y[k])).toBeLessThanOrEqual(tol);
  }
}

describe('aggregateMasked (invariances)', () => {
  it('matches an element-wise reference on random partial updates', () => {
    for (const seed of [1, 2, 3]) {
      const { g, u } = randomUpdates(seed, 6);
      expectClose(aggregateMasked(g, u), reference(g, u), 1e-6);
    }
  });

  it('is invariant to scaling every numSamples by the same factor', () => {
    const { g, u } = randomUpdates(7, 5);
    const scaled = u.map((x) => ({ ...x, numSamples: x.numSamples * 37.5 }));
    expectClose(aggregateMasked(g, scaled), aggregateMasked(g, u), 1e-6);
  });

  it('is invariant to client order', () => {
    const { g, u } = randomUpdates(11, 7);
    const reversed = [...u].reverse();
    const rotated = [...u.slice(3), ...u.slice(0, 3)];
    expectClose(aggregateMasked(g, reversed), aggregateMasked(g, u), 1e-6);
    expectClose(aggregateMasked(g, rotated), aggregateMasked(g, u), 1e-6);
  });

  it('weights change the result (an unweighted mean would not pass)', () => {
    const { g, u } = randomUpdates(5, 4);
    const equal = u.map((x) => ({ ...x, numSamples: 1 }));
    const a = aggregateMasked(g, u)['head/kernel'].data;
    const b = aggregateMasked(g, equal)['head/kernel'].data;
    expect(Math.max(...a.map((v, k) => Math.abs(v - b[k])))).toBeGreaterThan(1e-3);
  });
});

describe('aggregateMasked (validation)', () => {
  const head = () => ({ 'head/kernel': t([2, 2], [0, 0, 0, 0]) });
  const cases: [string, ClientUpdate, RegExp][] = [
    [
      'unknown name',
      { client: 'X', numSamples: 1, deltas: { ...head(), 'block9.adapter/w': t([2], [0, 0]) } },
      /X: unknown parameter "block9.adapter\/w"/,
    ],
    [
      'wrong shape',
      {
        client: 'X',
        numSamples: 1,
        deltas: {
          ...head(),
          'block0.adapter/w': t([1, 2], [0, 0]),
          'block0.adapter/b': t([1], [0]),
        },
      },
      /X: parameter "block0.adapter\/w" has shape \[1, 2\], expected \[2\]/,
    ],
    [
      'NaN',
      {
        client: 'X',
        numSamples: 1,
        deltas: {
          ...head(),
          'block0.adapter/w': t([2], [0, NaN]),
          'block0.adapter/b': t([1], [0]),
        },
      },
      /X: parameter "block0.adapter\/w" has a non-finite value \(NaN\) at 1/,
    ],
    [
      'Infinity',
      { client: 'X', numSamples: 1, deltas: { 'head/kernel': t([2, 2], [0, 0, Infinity, 0]) } },
      /X: parameter "head\/kernel" has a non-finite value \(Infinity\) at 2/,
    ],
    [
      'incomplete layer',
      { client: 'X', numSamples: 1, deltas: { ...head(), 'block0.adapter/w': t([2], [0, 0]) } },
      /X: layer "block0.adapter" is incomplete, missing block0.adapter\/b/,
    ],
    [
      'missing head',
      {
        client: 'X',
        numSamples: 1,
        deltas: { 'block1.adapter/w': t([2], [0, 0]), 'block1.adapter/b': t([1], [0]) },
      },
      /X: update lacks the required layer "head"/,
    ],
    [
      'inherited property name',
      { client: 'X', numSamples: 1, deltas: { ...head(), constructor: t([1], [0]) } },
      /X: unknown parameter "constructor"/,
    ],
    [
      'zero samples',
      { client: 'X', numSamples: 0, deltas: head() },
      /X: numSamples must be a positive/,
    ],
    ['NaN samples', { client: 'X', numSamples: NaN, deltas: head() }, /X: numSamples/],
    [
      'data length',
      {
        client: 'X',
        numSamples: 1,
        deltas: { 'head/kernel': { shape: [2, 2], data: new Float32Array(3) } },
      },
      /X: parameter "head\/kernel" has 3 values, expected 4/,
    ],
  ];
  for (const [what, update, msg] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => aggregateMasked(global(), [update])).toThrow(msg);
    });
  }

  it('names unnamed updates by index', () => {
    expect(() =>
      aggregateMasked(global(), [
        { numSamples: 1, deltas: head() },
        { numSamples: 1, deltas: { 'head/kernel': t([2, 2], [0, 0, 0, NaN]) } },
      ]),
    ).toThrow(/update\[1\]/);
  });

  it('rejects a client reporting twice', () => {
    const u = { client: 'A', numSamples: 1, deltas: head() };
    expect(() => aggregateMasked(global(), [u, u])).toThrow(/client "A" reported twice/);
  });

  it('allows updates without a head when no layer is required', () => {
    const out = aggregateMasked(
      global(),
      [
        {
          numSamples: 2,
          deltas: { 'block2.adapter/w': t([2], [1, 1]), 'block2.adapter/b': t([1], [1]) },
        },
      ],
      { requiredLayers: [] },
    );
    expect(vals(out, 'block2.adapter/w')).toEqual([0, 0]);
    expect(vals(out, 'head/kernel')).toEqual([0, 0, 0, 0]);
  });
});

describe("aggregateMasked headAggregation 'answer' (hand-computed)", () => {
  // A head of hidden 2 and two answers: kernel [2, 2] (column j = answer j), bias [2].
  const head = (): NamedArrays => ({
    'block0.adapter/w': t([2], [0, 0]),
    'head/kernel': t([2, 2], [1, 2, 3, 4]),
    'head/bias': t([2], [0.5, -0.5]),
  });
  // Site A (n=1) has only answer 0: its answer-1 column and bias are exactly zero.
  // Site B (n=3) has both answers.
  const updates: ClientUpdate[] = [
    {
      client: 'A',
      numSamples: 1,
      deltas: {
        'block0.adapter/w': t([2], [4, 4]),
        'head/kernel': t([2, 2], [2, 0, 6, 0]),
        'head/bias': t([2], [1, 0]),
      },
    },
    {
      client: 'B',
      numSamples: 3,
      deltas: {
        'block0.adapter/w': t([2], [0, 8]),
        'head/kernel': t([2, 2], [-2, 4, 2, -8]),
        'head/bias': t([2], [-1, 2]),
      },
    },
  ];

  it('averages each answer over the sites that trained it, other layers as before', () => {
    const r = aggregateMaskedDetailed(head(), updates, { headAggregation: 'answer' });
    // answer 0 (both, weights 1 and 3): kernel col 0 mean delta (1*[2,6] + 3*[-2,2]) / 4 =
    // [-1, 3]; bias (1*1 + 3*(-1)) / 4 = -0.5.
    // answer 1 (B only, weight 3): kernel col 1 delta [4, -8]; bias 2.
    expect(vals(r.params, 'head/kernel')).toEqual([1 - 1, 2 + 4, 3 + 3, 4 - 8]);
    expect(vals(r.params, 'head/bias')).toEqual([0.5 - 0.5, -0.5 + 2]);
    expect(vals(r.params, 'block0.adapter/w')).toEqual([1, 7]);
    expect(r.answerContributors).toEqual([2, 1]);
    expect(r.contributors.head).toBe(2);
    // The per-layer rule divides B's answer-1 step by all four samples: 3/4 of it.
    const byLayer = aggregateMaskedDetailed(head(), updates);
    expect(vals(byLayer.params, 'head/kernel')).toEqual([0, 2 + 3, 6, 4 - 6]);
    expect(byLayer.answerContributors).toBeUndefined();
  });

  it('an answer no site trained keeps its global value', () => {
    const onlyA = aggregateMaskedDetailed(head(), [updates[0]], { headAggregation: 'answer' });
    expect(vals(onlyA.params, 'head/kernel')).toEqual([3, 2, 9, 4]);
    expect(vals(onlyA.params, 'head/bias')).toEqual([1.5, -0.5]);
    expect(onlyA.answerContributors).toEqual([1, 0]);
  });

  it('equals the per-layer mean when every answer was trained by every site', () => {
    const rand = mulberry32(7);
    const r = () => Array.from({ length: 4 }, () => rand() - 0.5);
    const dense: ClientUpdate[] = [1, 2, 5].map((n, i) => ({
      client: `c${i}`,
      numSamples: n,
      deltas: {
        'block0.adapter/w': t([2], r().slice(0, 2)),
        'head/kernel': t([2, 2], r()),
        'head/bias': t([2], r().slice(0, 2)),
      },
    }));
    const a = aggregateMaskedDetailed(head(), dense, { headAggregation: 'answer' });
    const b = aggregateMaskedDetailed(head(), dense, { headAggregation: 'layer' });
    for (const name of Object.keys(b.params))
      expect(vals(a.params, name)).toEqual(vals(b.params, name));
  });

  it('refuses an unknown unit and a head whose parameters disagree on the answers', () => {
    expect(() =>
      aggregateMaskedDetailed(head(), updates, { headAggregation: 'row' as never }),
    ).toThrow(/headAggregation must be one of layer, answer/);
    const bad = { ...head(), 'head/bias': t([3], [0, 0, 0]) };
    expect(() => aggregateMaskedDetailed(bad, [], { headAggregation: 'answer' })).toThrow(
      /share their last axis/,
    );
    const noHead = { 'block0.adapter/w': t([2], [0, 0]) };
    expect(() => aggregateMaskedDetailed(noHead, [], { headAggregation: 'answer' })).toThrow(
      /no head layer/,
    );
  });
});
