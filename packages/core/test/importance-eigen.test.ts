import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { jacobiEigen, topEigenvalue } from '../src/importance/eigen.js';
import { gaussian, mulberry32 } from '../src/random.js';

function randomSymmetric(m: number, seed: number): number[] {
  const r = mulberry32(seed);
  const a = new Array<number>(m * m);
  for (let i = 0; i < m; i++)
    for (let j = i; j < m; j++) {
      const v = gaussian(r);
      a[i * m + j] = v;
      a[j * m + i] = v;
    }
  return a;
}

describe('jacobiEigen', () => {
  it('matches ml-matrix EVD on random symmetric matrices', () => {
    for (const [m, seed] of [
      [1, 1],
      [2, 2],
      [5, 3],
      [16, 4],
      [33, 5],
    ]) {
      const a = randomSymmetric(m, seed);
      const ours = jacobiEigen(a, m).values;
      const ref = new EigenvalueDecomposition(
        new Matrix(Array.from({ length: m }, (_, i) => a.slice(i * m, i * m + m))),
        { assumeSymmetric: true },
      ).realEigenvalues.sort((x, y) => y - x);
      for (let i = 0; i < m; i++) expect(ours[i]).toBeCloseTo(ref[i], 10);
    }
  });

  it('returns orthonormal eigenvectors with A v = lambda v', () => {
    const m = 7;
    const a = randomSymmetric(m, 9);
    const { values, vectors } = jacobiEigen(a, m, { vectors: true });
    const V = vectors!;
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < m; i++) {
        let av = 0;
        for (let k = 0; k < m; k++) av += a[i * m + k] * V[k * m + j];
        expect(av).toBeCloseTo(values[j] * V[i * m + j], 10);
      }
      for (let k = 0; k < m; k++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += V[i * m + j] * V[i * m + k];
        expect(dot).toBeCloseTo(j === k ? 1 : 0, 10);
      }
    }
  });

  it('handles diagonal, zero and rank-one matrices exactly', () => {
    expect(Array.from(jacobiEigen([3, 0, 0, 0, -1, 0, 0, 0, 2], 3).values)).toEqual([3, 2, -1]);
    expect(topEigenvalue(new Float64Array(16), 4)).toBe(0);
    const u = [1, 2, 3];
    const r1 = u.flatMap((x) => u.map((y) => x * y));
    expect(topEigenvalue(r1, 3)).toBeCloseTo(14, 12);
    expect(topEigenvalue([], 0)).toBe(0);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => jacobiEigen([1, 2, 3], 2)).toThrow(/expected m\*m = 4/);
    expect(() => jacobiEigen([1, 2, 3, 4], 2)).toThrow(/not symmetric/);
    expect(() => jacobiEigen([1, NaN, NaN, 1], 2)).toThrow(/not finite/);
  });
});
