import { describe, expect, it } from 'vitest';
import { ALGORITHMS, hypervolume2d, solve, zdt, type ZdtName } from '../src/index.js';

/**
 * Hypervolume of a ZDT true front (g = 1, f2 = h(f1), f1 in [0, 1]) at reference (1.1, 1.1),
 * computed independently of pareto.ts: HV = integral over a in [0, 1.1] of
 * (1.1 - min_{x <= min(a, 1)} h(x)), the running minimum being the attainment boundary
 * (it also handles ZDT3's disconnected front). Midpoint rule with 200,000 columns.
 */
function trueFrontHv(name: ZdtName): number {
  const h = (x: number): number =>
    name === 'zdt1'
      ? 1 - Math.sqrt(x)
      : name === 'zdt2'
        ? 1 - x * x
        : 1 - Math.sqrt(x) - x * Math.sin(10 * Math.PI * x);
  const n = 200_000;
  const w = 1.1 / n;
  let runMin = Infinity;
  let hv = 0;
  for (let c = 0; c < n; c++) {
    const a = (c + 0.5) * w;
    // Refine the running minimum on [previous a, a] (capped at f1 = 1).
    const hiX = Math.min(a, 1);
    for (let k = 0; k < 4; k++) runMin = Math.min(runMin, h(Math.max(0, hiX - (k * w) / 4)));
    if (runMin < 1.1) hv += w * (1.1 - runMin);
  }
  return hv;
}

/**
 * The anchors' "true front" values are pymoo's true fronts sampled at 100 points (f1 evenly
 * spaced; for ZDT3 the non-dominated part of a dense sample). Recomputed here by the same
 * midpoint rule over a staircase: the height at a is 1.1 - min h(x_k) over samples x_k <= a.
 */
function sampledFrontHv(name: ZdtName, points: number): number {
  const h = (x: number): number =>
    name === 'zdt1'
      ? 1 - Math.sqrt(x)
      : name === 'zdt2'
        ? 1 - x * x
        : 1 - Math.sqrt(x) - x * Math.sin(10 * Math.PI * x);
  let xs: number[];
  if (name !== 'zdt3') xs = Array.from({ length: points }, (_, k) => k / (points - 1));
  else {
    // Keep the non-dominated part of a dense sample, then thin it to ~`points` points.
    const dense = Array.from({ length: 100_000 }, (_, k) => k / 99_999);
    const nd: number[] = [];
    let best = Infinity;
    for (const x of dense) {
      if (h(x) < best) {
        best = h(x);
        nd.push(x);
      }
    }
    xs = Array.from(
      { length: points },
      (_, k) => nd[Math.round((k * (nd.length - 1)) / (points - 1))],
    );
  }
  const n = 200_000;
  const w = 1.1 / n;
  let k = 0;
  let runMin = Infinity;
  let hv = 0;
  for (let c = 0; c < n; c++) {
    const a = (c + 0.5) * w;
    while (k < xs.length && xs[k] <= a) runMin = Math.min(runMin, h(xs[k++]));
    if (runMin < 1.1) hv += w * (1.1 - runMin);
  }
  return hv;
}

// docs/method.md §2 sanity anchors (pymoo 0.6.2, reference point (1.1, 1.1)).
const ANCHOR: Record<ZdtName, number> = { zdt1: 0.871, zdt2: 0.538, zdt3: 1.329 };

describe('ZDT validation', () => {
  it('true-front references agree with the analytic values', () => {
    // ZDT1: int_0^1 (0.1 + sqrt a) da + 0.1 * 1.1 = 0.1 + 2/3 + 0.11; ZDT2: 0.1 + 1/3 + 0.11.
    expect(trueFrontHv('zdt1')).toBeCloseTo(0.1 + 2 / 3 + 0.11, 4);
    expect(trueFrontHv('zdt2')).toBeCloseTo(0.1 + 1 / 3 + 0.11, 4);
    expect(Math.abs(trueFrontHv('zdt3') - ANCHOR.zdt3) / ANCHOR.zdt3).toBeLessThan(0.01);
    // The 100-point samples reproduce the anchors to 3 decimals.
    for (const name of ['zdt1', 'zdt2', 'zdt3'] as const) {
      expect(Math.abs(sampledFrontHv(name, 100) - ANCHOR[name])).toBeLessThan(1.5e-3);
    }
  });

  for (const name of ['zdt1', 'zdt2', 'zdt3'] as const) {
    it(`NSGA-II on ${name}: hypervolume after 20,000 evaluations within 1% of the true front`, () => {
      const res = solve(zdt(name), { algo: 'nsga2', seed: 1, maxEvaluations: 20_000 });
      const hv = hypervolume2d(
        res.front.map((s) => s.f),
        [1.1, 1.1],
      );
      const ref = sampledFrontHv(name, 100);
      console.log(
        `nsga2 ${name}: HV ${hv.toFixed(4)} (100-point true front ${ref.toFixed(4)}, continuous ${trueFrontHv(name).toFixed(4)}, anchor ${ANCHOR[name]})`,
      );
      expect(res.evaluations).toBe(20_000);
      expect(Math.abs(hv - ref) / ref).toBeLessThan(0.01);
      expect(Math.abs(hv - ANCHOR[name]) / ANCHOR[name]).toBeLessThan(0.01);
      // Nothing can beat the continuous true front.
      expect(hv).toBeLessThanOrEqual(trueFrontHv(name) + 1e-3);
    });
  }

  it('the other algorithms run on ZDT1 with feasible, non-dominated fronts (HV logged)', () => {
    for (const algo of ALGORITHMS) {
      if (algo === 'nsga2') continue;
      const p = zdt('zdt1');
      const res = solve(p, { algo, seed: 1, maxEvaluations: 5000 });
      const hv = hypervolume2d(
        res.front.map((s) => s.f),
        [1.1, 1.1],
      );
      console.log(`${algo} zdt1 @5000 evaluations: HV ${hv.toFixed(4)}`);
      for (const s of res.front) {
        expect(s.x.every((v) => v >= 0 && v <= 1)).toBe(true);
        expect(p.evaluate(s.x)).toEqual(s.f);
      }
      expect(hv).toBeGreaterThan(0);
    }
  });
});
