// Spec validation and grid expansion; the settings' site data.
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandRuns, loadSpec, validateSpec } from '../src/spec.js';
import { buildSettingSites, restyle, split80 } from '../src/settings.js';
import type { VqaSample } from '@focus-fl/core/data';

const ROOT = resolve(import.meta.dirname, '../../..');
const base = {
  name: 't',
  preset: 'tiny',
  rounds: 2,
  steps: 3,
  budget: 2,
  seeds: [0, 1, 2],
  settings: { a: { kind: 'clients', clients: ['oct', 'fundus'] } },
  strategies: ['lntk', 'f3ocus'],
};

describe('spec', () => {
  it('every committed spec in experiments/ is valid; micro is the 8-run acceptance grid', () => {
    const dir = join(ROOT, 'experiments');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toContain('micro.json');
    for (const f of files) expect(() => loadSpec(join(dir, f)), f).not.toThrow();
    const micro = expandRuns(loadSpec(join(dir, 'micro.json')));
    expect(micro.map((r) => r.key)).toEqual([
      'clients2/lntk/-/0',
      'clients2/lntk/-/1',
      'clients2/fd/-/0',
      'clients2/fd/-/1',
      'skew2/lntk/-/0',
      'skew2/lntk/-/1',
      'skew2/fd/-/0',
      'skew2/fd/-/1',
    ]);
  });

  it('f3ocus runs once per algo, other strategies once; labelled variants keep their label', () => {
    const runs = expandRuns(
      validateSpec({
        ...base,
        algos: ['nsga2', 'sa'],
        strategies: ['lntk', 'f3ocus', { label: 'lora', strategy: 'full', peft: 'lora' }],
      }),
    );
    expect(runs).toHaveLength(3 * (1 + 2 + 1));
    expect(runs.filter((r) => r.strategy === 'f3ocus').map((r) => r.algo)).toEqual([
      'nsga2',
      'nsga2',
      'nsga2',
      'sa',
      'sa',
      'sa',
    ]);
    const lora = runs.find((r) => r.strategy === 'lora')!;
    expect(lora).toMatchObject({
      registryStrategy: 'full',
      peft: 'lora',
      algo: null,
      key: 'a/lora/-/0',
    });
  });

  it('headline: extra seeds for the listed strategies only (f3ocus with its first algo)', () => {
    const runs = expandRuns(
      validateSpec({
        ...base,
        algos: ['nsga2', 'sa'],
        strategies: ['lntk', 'f3ocus', 'fd'],
        headline: { strategies: ['f3ocus', 'lntk'], seeds: [7, 8] },
      }),
    );
    const extra = runs.filter((r) => r.seed >= 7).map((r) => r.key);
    expect(extra).toEqual(['a/lntk/-/7', 'a/lntk/-/8', 'a/f3ocus/nsga2/7', 'a/f3ocus/nsga2/8']);
    expect(runs).toHaveLength(3 * (1 + 2 + 1) + 4);
    expect(() => validateSpec({ ...base, headline: { strategies: ['fd'], seeds: [9] } })).toThrow(
      /\/headline\/strategies: "fd" is not in \/strategies/,
    );
    expect(() => validateSpec({ ...base, headline: { strategies: ['lntk'], seeds: [1] } })).toThrow(
      /seed 1 is already in \/seeds/,
    );
  });

  it('bad specs fail naming the field', () => {
    expect(() => validateSpec({ ...base, strategies: ['fedavg'] })).toThrow(
      /invalid spec: \/strategies\/0/,
    );
    expect(() => validateSpec({ ...base, rounds: 0 })).toThrow(/\/rounds/);
    const { rounds: _r, ...noRounds } = base;
    expect(() => validateSpec(noRounds)).toThrow(/rounds/);
    expect(() => validateSpec({ ...base, extra: 1 })).toThrow(/invalid spec/);
    expect(() => validateSpec({ ...base, seeds: [1, 1] })).toThrow(/\/seeds has duplicates/);
    expect(() => validateSpec({ ...base, strategies: ['lntk', 'lntk'] })).toThrow(/"lntk" twice/);
    expect(() =>
      validateSpec({
        ...base,
        settings: { a: { kind: 'label-skew', client: 'oct', samples: 100, sites: 4 } },
      }),
    ).toThrow(/\/settings\/a/);
    expect(() => loadSpec('/nonexistent/spec.json')).toThrow(/cannot read spec/);
  });
});

const sample = (pixels: number[], channels: 1 | 3): VqaSample => ({
  image: Uint8Array.from(pixels),
  size: 1,
  channels,
  question: 'q',
  answer: 'a',
  questionType: 'diagnosis',
});

describe('settings', () => {
  it('restyle: contrast, brightness, gamma and tint on known pixels (hand-computed)', () => {
    // v = 2 (v/255 - 0.5) + 0.5 + 0.1 -> 0 -> 0.1 -> 0, 255 -> 1 (clamped), 153 -> 0.8 ^ 2 = 0.64
    const out = restyle(sample([0, 255, 153], 1), { contrast: 2, brightness: 0.1, gamma: 2 });
    expect([...out.image]).toEqual([0, 255, Math.round(255 * (2 * (153 / 255 - 0.5) + 0.6) ** 2)]);
    // tint scales the RGB channels: 100 * 1.5 = 150, 100 * 0.5 = 50, 100
    expect([...restyle(sample([100, 100, 100], 3), { tint: [1.5, 0.5, 1] }).image]).toEqual([
      150, 50, 100,
    ]);
    const s = sample([7], 1);
    expect(restyle(s, {})).toBe(s); // identity style: unchanged sample
  });

  it('label skew: every pooled sample dealt once; alpha 0.1 skews labels more than alpha 10', () => {
    const skewOf = (alpha: number) => {
      const { sites } = buildSettingSites(
        { kind: 'label-skew', client: 'blood_microscope', samples: 400, sites: 10, alpha },
        3,
      );
      expect(sites).toHaveLength(10);
      const all = sites!.flatMap((s) => [...s.data.train, ...s.data.test]);
      expect(all).toHaveLength(400);
      // mean over sites of the largest answer's share
      const shares = sites!.map((s) => {
        const xs = [...s.data.train, ...s.data.test];
        const counts = new Map<string, number>();
        for (const x of xs) counts.set(x.answer, (counts.get(x.answer) ?? 0) + 1);
        return xs.length ? Math.max(...counts.values()) / xs.length : 1;
      });
      return shares.reduce((a, b) => a + b, 0) / shares.length;
    };
    expect(skewOf(0.1)).toBeGreaterThan(skewOf(10) + 0.2);
  });

  it('domain gap: the same client at every site, each with its own style', () => {
    const { sites } = buildSettingSites(
      {
        kind: 'domain-gap',
        client: 'colon_pathology',
        samples: 50,
        sites: [{}, { contrast: 0.5, tint: [1.2, 0.9, 1] }],
      },
      1,
    );
    expect(sites!.map((s) => s.name)).toEqual(['site00', 'site01']);
    for (const s of sites!) expect(s.data.train.length + s.data.test.length).toBe(50);
    const mean = (xs: VqaSample[]) => {
      let sum = 0;
      let n = 0;
      for (const x of xs) {
        for (const v of x.image) sum += Math.abs(v - 128);
        n += x.image.length;
      }
      return sum / n;
    };
    // half contrast pulls pixels towards mid-grey
    expect(mean(sites![1].data.train)).toBeLessThan(mean(sites![0].data.train));
  });

  it('split80 keeps every sample and holds out 20 %', () => {
    const xs = Array.from({ length: 11 }, (_, i) => sample([i], 1));
    const { train, test } = split80(xs, 5);
    expect(test).toHaveLength(2);
    expect([...train, ...test].map((s) => s.image[0]).sort((a, b) => a - b)).toEqual([
      ...Array(11).keys(),
    ]);
  });
});
