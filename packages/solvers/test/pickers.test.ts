import { describe, expect, it } from 'vitest';
import { DEFAULT_PICK_RULE, pick } from '../src/index.js';

describe('pickers', () => {
  // A convex front with an obvious knee at (1, 1) in a 0..10 box.
  const front = [
    [0, 10],
    [0.5, 4],
    [1, 1],
    [4, 0.5],
    [10, 0],
  ];

  it('knee is the default and finds the bulge', () => {
    expect(DEFAULT_PICK_RULE).toBe('knee');
    expect(pick(front)).toBe(2);
  });

  it('knee is scale-invariant (objectives are normalised)', () => {
    expect(
      pick(
        front.map(([a, b]) => [1000 * a, b / 1000]),
        'knee',
      ),
    ).toBe(2);
  });

  it('ideal picks the point nearest the normalised ideal', () => {
    expect(pick(front, 'ideal')).toBe(2);
    expect(
      pick(
        [
          [0, 1],
          [0.4, 0.45],
          [1, 0],
        ],
        'ideal',
      ),
    ).toBe(1);
  });

  it('weighted follows the weights', () => {
    expect(pick(front, 'weighted', { weights: [1, 0] })).toBe(0);
    expect(pick(front, 'weighted', { weights: [0, 1] })).toBe(4);
    expect(pick(front, 'weighted')).toBe(2);
    expect(() => pick(front, 'weighted', { weights: [1] })).toThrow('weights:');
  });

  it('handles tiny fronts', () => {
    expect(pick([], 'knee')).toBe(-1);
    expect(pick([[1, 2]], 'knee')).toBe(0);
    expect(
      pick(
        [
          [0, 1],
          [1, 0],
        ],
        'knee',
      ),
    ).toBe(0);
  });

  it('knee on a concave front picks the point closest to the ideal side of the chord', () => {
    // All points lie above the chord except the middle, which is on it: extremes tie at 0.
    const concave = [
      [0, 1],
      [0.6, 0.8],
      [1, 0],
    ];
    expect(pick(concave, 'knee')).toBe(0);
  });
});
