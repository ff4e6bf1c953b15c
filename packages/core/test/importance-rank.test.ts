import { describe, expect, it } from 'vitest';
import { spearman } from '../src/importance/rank.js';

describe('spearman', () => {
  it('is 1 / -1 for monotone relations, whatever the scale', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 300, 4000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  });
  it('matches the textbook value 1 - 6 sum d^2 / (n (n^2 - 1)) without ties', () => {
    const a = [86, 97, 99, 100, 101, 103, 106, 110, 112, 113];
    const b = [2, 20, 28, 27, 50, 29, 7, 17, 6, 12];
    // ranks of b: 1 6 8 7 10 9 3 5 2 4 -> sum d^2 = 194 -> rho = 1 - 6*194/990
    expect(spearman(a, b)).toBeCloseTo(1 - (6 * 194) / 990, 12);
  });
  it('uses average ranks for ties (Pearson of the ranks)', () => {
    // ranks a: 1 2.5 2.5 4 ; b: 1 2 3 4 -> Pearson = 0.9486832980505138
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(0.9486832980505138, 12);
  });
  it('is null when a side is constant', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
  });
});
