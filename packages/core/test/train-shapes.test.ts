import { describe, expect, it } from 'vitest';
import {
  BINDING_QUESTION_TYPES,
  COLOURS,
  CORNERS,
  SHAPES_ANSWERS,
  PRETRAIN_QUESTION_TYPES,
  SHAPES_QUESTION_TYPES,
  SHAPES_TYPE_ANSWERS,
  shapesBaselines,
  shapesQuestionTexts,
  shapesTask,
} from '../src/train/index.js';
import type { SampleLike } from '../src/model/index.js';

/** Background level per channel: the median of the image border, of which objects (one per
 * quadrant, within 6.6 px of a centre 5.5-7.5 px from the edges) cover only a small part. */
function background(s: SampleLike): number[] {
  const border: [number, number][] = [];
  for (let i = 0; i < 28; i++) border.push([i, 0], [i, 27], [0, i], [27, i]);
  return Array.from({ length: s.channels }, (_, c) => {
    const v = border
      .map(([x, y]) => s.image[(y * s.size + x) * s.channels + c])
      .sort((p, q) => p - q);
    return v[v.length >> 1];
  });
}
/** Pixels that differ from the background by more than its noise in some channel. */
function deviation(s: SampleLike, x: number, y: number, bg = background(s)): number {
  const o = (y * s.size + x) * s.channels;
  let d = 0;
  for (let c = 0; c < s.channels; c++) d = Math.max(d, Math.abs(s.image[o + c] - bg[c]));
  return d;
}
function bright(s: SampleLike, x: number, y: number): boolean {
  return deviation(s, x, y) > 45;
}
function quadrantsWithObjects(s: SampleLike): number[] {
  const counts = [0, 0, 0, 0];
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++)
      if (bright(s, x, y)) counts[(y >= 14 ? 2 : 0) + (x >= 14 ? 1 : 0)]++;
  return counts.flatMap((n, q) => (n >= 10 ? [q] : []));
}
/** Nearest palette colour by chromaticity (direction of the RGB vector). */
function colourOf(rgb: number[]): string {
  const unit = (v: number[]) => v.map((c) => c / Math.hypot(...v));
  const u = unit(rgb);
  return Object.entries(COLOURS)
    .map(([name, c]) => [name, Math.hypot(...unit(c).map((x, k) => x - u[k]))] as const)
    .sort((p, q) => p[1] - q[1])[0][0];
}

describe('shapes pretraining task', () => {
  const a = shapesTask(2400, 4);

  it('is seeded, well-formed and uses only its answer list', () => {
    const b = shapesTask(300, 4);
    expect(a.slice(0, 300).map((s) => s.question)).toEqual(b.map((s) => s.question));
    expect(a[7].image).toEqual(b[7].image);
    expect(shapesTask(5, 5)[0].image).not.toEqual(a[0].image);
    const texts = new Set(shapesQuestionTexts());
    for (const s of a) {
      expect(s.image.length).toBe(28 * 28 * s.channels);
      expect(SHAPES_TYPE_ANSWERS[s.questionType as 'shape']).toContain(s.answer);
      expect(SHAPES_ANSWERS).toContain(s.answer);
      // Every question is one the pretraining word table covers.
      expect(texts.has(s.question), s.question).toBe(true);
    }
    expect(new Set(SHAPES_ANSWERS).size).toBe(SHAPES_ANSWERS.length);
  });

  it('asks every question type about equally often, on grey and colour images', () => {
    for (const t of SHAPES_QUESTION_TYPES) {
      const f = a.filter((s) => s.questionType === t).length / a.length;
      expect(f, t).toBeGreaterThan(0.09);
      expect(f, t).toBeLessThan(0.16);
    }
    const grey = a.filter((s) => s.channels === 1);
    expect(grey.length / a.length).toBeGreaterThan(0.15);
    // Colour and relation questions need colour images.
    expect(grey.some((s) => s.questionType === 'colour' || s.questionType === 'relation')).toBe(
      false,
    );
    expect(grey.some((s) => s.questionType === 'pattern')).toBe(true);
  });

  it('balances the answers within each type (majority close to chance)', () => {
    const base = shapesBaselines(shapesTask(3000, 9), a);
    for (const t of SHAPES_QUESTION_TYPES) {
      expect(base[t].chance).toBeCloseTo(1 / SHAPES_TYPE_ANSWERS[t].length, 10);
      expect(base[t].majority, t).toBeLessThan(base[t].chance + 0.12);
    }
  });

  it('yes/no answers are balanced and the answer depends on the question', () => {
    const s = a.filter((x) => x.questionType === 'yesno');
    const yes = s.filter((x) => x.answer === 'yes').length / s.length;
    expect(yes).toBeGreaterThan(0.4);
    expect(yes).toBeLessThan(0.6);
    const byQ = new Map<string, Set<string>>();
    for (const x of s)
      (byQ.get(x.question) ?? byQ.set(x.question, new Set()).get(x.question))!.add(x.answer);
    expect([...byQ.values()].filter((v) => v.size === 2).length).toBeGreaterThan(10);
  });

  it('count, corner and colour answers are what the pixels show', () => {
    for (const s of a.filter((x) => x.questionType === 'count').slice(0, 40))
      expect(quadrantsWithObjects(s).length, s.answer).toBe(
        ['one', 'two', 'three', 'four'].indexOf(s.answer) + 1,
      );
    for (const s of a.filter((x) => x.questionType === 'position').slice(0, 40))
      expect(CORNERS[quadrantsWithObjects(s)[0]]).toBe(s.answer);
    for (const s of a.filter((x) => x.questionType === 'colour').slice(0, 40)) {
      // The pixel furthest from the background is an object's.
      const bg = background(s);
      let best = [0, 0, 0];
      let bestD = -1;
      for (let i = 0; i < 784; i++) {
        const d = deviation(s, i % 28, Math.floor(i / 28), bg);
        if (d > bestD) [bestD, best] = [d, Array.from(s.image.subarray(i * 3, i * 3 + 3))];
      }
      expect(colourOf(best), s.question).toBe(s.answer);
    }
  });

  it('relation answers follow the two named colours in the image', () => {
    const rel = a.filter((x) => x.questionType === 'relation');
    expect(rel.length).toBeGreaterThan(100);
    for (const s of rel.slice(0, 60)) {
      const [, first, second] = /the (\w+) (?:shape|object) .* the (\w+) (?:shape|one)/.exec(
        s.question,
      )!;
      const centre = (name: string) => {
        let sx = 0;
        let sy = 0;
        let n = 0;
        for (let y = 0; y < 28; y++)
          for (let x = 0; x < 28; x++) {
            const o = (y * 28 + x) * 3;
            const px = [s.image[o], s.image[o + 1], s.image[o + 2]];
            if (deviation(s, x, y) > 45 && colourOf(px) === name)
              [sx, sy, n] = [sx + x, sy + y, n + 1];
          }
        return [sx / n, sy / n];
      };
      const [ax, ay] = centre(first);
      const [bx, by] = centre(second);
      const expected =
        Math.abs(ax - bx) > Math.abs(ay - by)
          ? ax < bx
            ? 'left'
            : 'right'
          : ay < by
            ? 'above'
            : 'below';
      expect(expected, s.question).toBe(s.answer);
    }
  });

  it('stepping-stone answers and grounding quadrants are what the pixels show', () => {
    const all: readonly string[] = BINDING_QUESTION_TYPES;
    const w = Object.fromEntries(PRETRAIN_QUESTION_TYPES.map((t) => [t, all.includes(t) ? 1 : 0]));
    const b = shapesTask(120, 8, { typeWeights: w });
    expect(new Set(b.map((s) => s.questionType))).toEqual(new Set(all));
    const texts = new Set(shapesQuestionTexts());
    for (const s of b) {
      expect(texts.has(s.question), s.question).toBe(true);
      expect(SHAPES_TYPE_ANSWERS[s.questionType as 'find']).toContain(s.answer);
      const objects = quadrantsWithObjects(s);
      expect(objects.length).toBeGreaterThanOrEqual(2);
      expect(s.ground).toHaveLength(1);
      const [q] = s.ground![0];
      expect(objects).toContain(q);
      // 'find' answers the grounded object's corner; 'attribute' names the grounded corner.
      if (s.questionType === 'find') expect(s.answer).toBe(CORNERS[q]);
      else expect(s.question).toContain(CORNERS[q]);
    }
    for (const s of b
      .filter((x) => x.questionType === 'attribute' && x.channels === 3)
      .slice(0, 30))
      if ((COLOURS as Record<string, unknown>)[s.answer]) {
        // The brightest-deviating pixel of the named quadrant has the answered colour.
        const bg = background(s);
        const [q] = s.ground![0];
        let best = [0, 0, 0];
        let bestD = -1;
        for (let y = 0; y < 14; y++)
          for (let x = 0; x < 14; x++) {
            const [px, py] = [x + (q % 2) * 14, y + Math.floor(q / 2) * 14];
            const d = deviation(s, px, py, bg);
            const o = (py * 28 + px) * 3;
            if (d > bestD) [bestD, best] = [d, Array.from(s.image.subarray(o, o + 3))];
          }
        expect(colourOf(best), s.question).toBe(s.answer);
      }
    // Relation grounds the two named objects in order; yes/no (not count) all objects or none.
    for (const s of a.filter((x) => x.questionType === 'relation').slice(0, 20)) {
      expect(s.ground!.map((g) => g.length)).toEqual([1, 1]);
      expect(quadrantsWithObjects(s).sort()).toEqual(s.ground!.flat().sort());
    }
    for (const s of a.filter((x) => x.questionType === 'yesno').slice(0, 60)) {
      if (s.question.startsWith('are there')) expect(s.ground).toBeUndefined();
      else expect(s.ground![0].sort()).toEqual(s.answer === 'yes' ? quadrantsWithObjects(s) : []);
    }
    expect(a.filter((x) => x.questionType === 'shape').every((x) => !x.ground)).toBe(true);
  });

  it('line patterns vary across their stripes, not along them', () => {
    const spread = (s: SampleLike, axis: 'x' | 'y') => {
      // Mean absolute difference between neighbouring pixels along one axis (first channel).
      let d = 0;
      for (let y = 0; y < 27; y++)
        for (let x = 0; x < 27; x++) {
          const o = (y * 28 + x) * s.channels;
          const n = axis === 'x' ? o + s.channels : o + 28 * s.channels;
          d += Math.abs(s.image[o] - s.image[n]);
        }
      return d;
    };
    const clean = shapesTask(600, 3, { difficulty: 0 }).filter((s) => s.questionType === 'pattern');
    const h = clean.filter((s) => s.answer === 'horizontal lines');
    const v = clean.filter((s) => s.answer === 'vertical lines');
    expect(h.length).toBeGreaterThan(3);
    expect(v.length).toBeGreaterThan(3);
    for (const s of h) expect(spread(s, 'y')).toBeGreaterThan(5 * spread(s, 'x') + 1);
    for (const s of v) expect(spread(s, 'x')).toBeGreaterThan(5 * spread(s, 'y') + 1);
  });

  it('difficulty 0 is noise-free, and bad options are refused with the reason', () => {
    const s = shapesTask(50, 1, { difficulty: 0 }).find((x) => x.questionType === 'count')!;
    expect(s.image[0]).toBe(s.image[s.channels]); // flat background in the top-left corner
    expect(() => shapesTask(3, 1, { difficulty: 2 })).toThrow(/difficulty must be in \[0, 1\]/);
    expect(() => shapesTask(-1, 1)).toThrow(/n must be a non-negative integer/);
    expect(() => shapesTask(3, 1, { greyFraction: 1.5 })).toThrow(/greyFraction/);
  });
});
