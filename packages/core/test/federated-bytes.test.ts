// The communication arithmetic behind bench/bytes.bench.ts (docs/method.md §3, Table 2), checked in
// the unit suite: the vilt-b32 adapter size and the per-round payload of 4 adapters.
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../src/model/config.js';
import { paramSpecs } from '../src/model/params.js';
import { encodedSize } from '../src/federated/codecs.js';
import { layerOf, sizeOf } from '../src/tensors/named.js';

describe('vilt-b32 update sizes', () => {
  const specs = paramSpecs(PRESETS['vilt-b32']);
  const adapter = (i: number) =>
    Object.fromEntries(
      specs.filter((s) => layerOf(s.name) === `block${i}.adapter`).map((s) => [s.name, s.shape]),
    );

  it('a Pfeiffer adapter (reduction 16, hidden 768) has 74,544 parameters', () => {
    const n = Object.values(adapter(0)).reduce((a, s) => a + sizeOf(s), 0);
    expect(n).toBe(2 * 768 * 48 + 48 + 768);
    expect(n).toBe(74_544);
  });

  it('4 adapters: 9.54 MBit of fp32 payload plus a small header; fp16/int8 shrink it', () => {
    const four = { ...adapter(0), ...adapter(3), ...adapter(7), ...adapter(11) };
    const payload = 4 * 74_544 * 4;
    // Per tensor: name, shape, dtype, (scale) and a bin header, well under 100 bytes.
    const header = 100 * Object.keys(four).length;
    expect(Object.keys(four)).toHaveLength(16);
    const fp32 = encodedSize(four, 'fp32');
    expect((payload * 8) / 1e6).toBeCloseTo(9.54, 2);
    expect(fp32 - payload).toBeGreaterThan(0);
    expect(fp32 - payload).toBeLessThan(header);
    expect(encodedSize(four, 'fp16') - payload / 2).toBeLessThan(header);
    expect(encodedSize(four, 'int8') - payload / 4).toBeLessThan(header);
  });
});
