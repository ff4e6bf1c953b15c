// Strategies, codecs and aggregation driven together for several rounds by hand (DISCO's
// "aggregator tests that drive rounds by hand"), with a toy local update whose fixed point is
// known: each client pulls the layers it trains half-way to its own target.
import { describe, expect, it } from 'vitest';
import { createStrategy } from '../src/federated/strategies/index.js';
import type { RoundClient, RoundResult } from '../src/federated/strategy.js';
import { decodeUpdate, encodeUpdate, type Codec } from '../src/federated/codecs.js';
import { mulberry32 } from '../src/random.js';
import { cloneNamed, layerOf, type NamedArrays } from '../src/tensors/named.js';

const L = 6;
const layers = Array.from({ length: L }, (_, i) => `block${i}.adapter`);
const DIM = 3;

function initialGlobal(): NamedArrays {
  const g: NamedArrays = {};
  for (const l of layers) g[`${l}/w`] = { shape: [DIM], data: new Float32Array(DIM) };
  g['head/kernel'] = { shape: [2], data: new Float32Array(2) };
  return g;
}

interface Site extends RoundClient {
  target: NamedArrays;
}

function sites(): Site[] {
  const r = mulberry32(3);
  return Array.from({ length: 4 }, (_, i) => {
    const target: NamedArrays = {};
    for (const [n, t] of Object.entries(initialGlobal())) {
      target[n] = { shape: t.shape, data: Float32Array.from(t.data, () => r() * 2 - 1) };
    }
    // Fixed, distinct LNTK-like scores: site i prefers layers i and i+1.
    const raw = layers.map((_, l) => (l === i || l === i + 1 ? 5 : 1));
    const s = raw.reduce((a, b) => a + b, 0);
    return {
      name: `s${i}`,
      budget: 2,
      numSamples: 10 * (i + 1),
      target,
      scores: { layers, scores: raw.map((v) => v / s) },
    };
  });
}

/** Local "training": assigned layers + head move half-way to the site's target. */
function localDeltas(global: NamedArrays, site: Site, assigned: string[]): NamedArrays {
  const out: NamedArrays = {};
  for (const [n, g] of Object.entries(global)) {
    if (!assigned.includes(layerOf(n)) && layerOf(n) !== 'head') continue;
    const t = site.target[n].data;
    out[n] = { shape: g.shape, data: Float32Array.from(g.data, (v, k) => 0.5 * (t[k] - v)) };
  }
  return out;
}

async function runRounds(strategy: string, codec: Codec, rounds: number) {
  const s = createStrategy(strategy, { maxEvaluations: 1000 });
  const ss = sites();
  let global = initialGlobal();
  const trainedBy = new Map<string, Set<string>>();
  for (let round = 0; round < rounds; round++) {
    const plan = await s.configureRound({ round, clients: ss, layers, seed: 1 });
    const results: RoundResult[] = ss.map((site) => {
      const assigned = plan.assignments[site.name];
      for (const l of assigned) {
        if (!trainedBy.has(l)) trainedBy.set(l, new Set());
        trainedBy.get(l)!.add(site.name);
      }
      // Over the wire and back, validated against the global shapes.
      const bytes = encodeUpdate(localDeltas(global, site, assigned), codec);
      return {
        client: site.name,
        numSamples: site.numSamples,
        deltas: decodeUpdate(bytes, global),
      };
    });
    const before = cloneNamed(global);
    global = s.aggregateRound({ round, global, assignments: plan.assignments }, results, []).params;
    expect(global).not.toBe(before);
  }
  return { global, ss, trainedBy };
}

/** Sample-weighted mean of the targets of `names` for parameter `n`. */
function weightedTarget(ss: Site[], names: Set<string>, n: string): number[] {
  const w = ss.filter((s) => names.has(s.name));
  const total = w.reduce((a, s) => a + s.numSamples, 0);
  return Array.from(
    w[0].target[n].data,
    (_, k) => w.reduce((a, s) => a + s.numSamples * s.target[n].data[k], 0) / total,
  );
}

describe('federated rounds by hand', () => {
  it('full: every layer converges to the sample-weighted mean of all targets', async () => {
    const { global, ss } = await runRounds('full', 'fp32', 30);
    const all = new Set(ss.map((s) => s.name));
    for (const n of Object.keys(global)) {
      const want = weightedTarget(ss, all, n);
      global[n].data.forEach((v, k) => expect(v).toBeCloseTo(want[k], 5));
    }
  });

  it('lntk: fixed picks; each layer converges to the mean of the sites that train it, the rest stay', async () => {
    for (const codec of ['fp32', 'fp16', 'int8'] as const) {
      const { global, ss, trainedBy } = await runRounds('lntk', codec, 30);
      const tol = codec === 'fp32' ? 1e-5 : codec === 'fp16' ? 2e-3 : 2e-2;
      for (const l of layers) {
        const n = `${l}/w`;
        const by = trainedBy.get(l);
        if (!by) {
          expect(Array.from(global[n].data)).toEqual([0, 0, 0]);
          continue;
        }
        const want = weightedTarget(ss, by, n);
        global[n].data.forEach((v, k) =>
          expect(Math.abs(v - want[k]), `${codec} ${n}`).toBeLessThan(tol),
        );
      }
      // site i picks layers i, i+1: layer 5 is picked by no one (4 sites, layers 0..4).
      expect(trainedBy.has('block5.adapter')).toBe(false);
    }
  });

  it('f3ocus and random: the head follows every site, untrained layers stay', async () => {
    for (const name of ['f3ocus', 'random']) {
      const { global, ss, trainedBy } = await runRounds(name, 'fp32', 3);
      // The head is trained by every site every round from 0: g_r = (1 - 0.5^r) * mean.
      const mean = weightedTarget(ss, new Set(ss.map((x) => x.name)), 'head/kernel');
      global['head/kernel'].data.forEach((v, k) => expect(v).toBeCloseTo(0.875 * mean[k], 5));
      for (const l of layers) {
        if (!trainedBy.has(l)) expect(Array.from(global[`${l}/w`].data)).toEqual([0, 0, 0]);
        else expect(global[`${l}/w`].data.some((v) => v !== 0)).toBe(true);
      }
    }
  });
});
