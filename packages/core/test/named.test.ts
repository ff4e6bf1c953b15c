import { describe, expect, it } from 'vitest';
import { layerOf, mulberry32 } from '../src/index.js';

describe('named tensors', () => {
  it('splits layer from parameter name', () => {
    expect(layerOf('block3.adapter/down_kernel')).toBe('block3.adapter');
    expect(() => layerOf('nolayer')).toThrow(/<layer>\/<param>/);
  });
  it('seeded rng is reproducible', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });
});
