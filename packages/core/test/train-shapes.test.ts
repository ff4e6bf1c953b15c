import { describe, expect, it } from 'vitest';
import { COLOURS, SHAPES_ANSWERS, shapesTask } from '../src/train/index.js';

describe('shapes pretraining task', () => {
  it('is seeded, well-formed and uses only its answer list', () => {
    const a = shapesTask(300, 4);
    const b = shapesTask(300, 4);
    expect(a.map((s) => s.question)).toEqual(b.map((s) => s.question));
    expect(a[7].image).toEqual(b[7].image);
    expect(shapesTask(5, 5)[0].image).not.toEqual(a[0].image);
    for (const s of a) {
      expect(s.image.length).toBe(28 * 28 * 3);
      expect(SHAPES_ANSWERS).toContain(s.answer);
    }
    const types = new Set(a.map((s) => s.questionType));
    expect([...types].sort()).toEqual(['colour', 'count', 'position', 'shape', 'yesno']);
  });

  it('yes/no answers are balanced and the answer depends on the question', () => {
    const s = shapesTask(2000, 1).filter((x) => x.questionType === 'yesno');
    const yes = s.filter((x) => x.answer === 'yes').length / s.length;
    expect(yes).toBeGreaterThan(0.4);
    expect(yes).toBeLessThan(0.6);
    // A question-blind answer can do no better than the majority of yes/no.
    const byQ = new Map<string, Set<string>>();
    for (const x of s)
      (byQ.get(x.question) ?? byQ.set(x.question, new Set()).get(x.question))!.add(x.answer);
    expect([...byQ.values()].filter((v) => v.size === 2).length).toBeGreaterThan(10);
  });

  it('colour questions are answerable from the pixels', () => {
    // The dominant bright colour of the image matches the answer (sanity of the renderer).
    const s = shapesTask(400, 2).filter((x) => x.questionType === 'colour');
    for (const x of s.slice(0, 30)) {
      let best = [0, 0, 0];
      let bestSum = -1;
      for (let i = 0; i < x.image.length; i += 3) {
        const sum = x.image[i] + x.image[i + 1] + x.image[i + 2];
        if (sum > bestSum) [bestSum, best] = [sum, [x.image[i], x.image[i + 1], x.image[i + 2]]];
      }
      // Nearest colour by chromaticity (direction of the RGB vector).
      const unit = (v: number[]) => v.map((c) => c / Math.hypot(...v));
      const u = unit(best);
      const guess = Object.entries(COLOURS)
        .map(([name, c]) => [name, Math.hypot(...unit(c).map((x, k) => x - u[k]))] as const)
        .sort((p, q) => p[1] - q[1])[0][0];
      expect(guess, x.question).toBe(x.answer);
    }
  });
});
