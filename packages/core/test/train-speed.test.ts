// train/speed.ts: the kernel profile (with repeats, each kernel's fastest run) and the
// dispatch probe used by bench/train.bench.ts.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/index.js';
import { dispatchMs, kernelProfile } from '../src/train/speed.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('kernelProfile', () => {
  const x = () => tf.ones([8, 4, 4]);
  const f = () =>
    tf.tidy(() => {
      const a = x();
      return tf.matMul(tf.add(a, a), tf.mul(a, 2)).dataSync();
    });

  it('lists each kernel once per run (not once per repeat), batched products apart', async () => {
    const counts: number[] = [];
    for (const repeats of [1, 3]) {
      const p = await kernelProfile(f, repeats);
      counts.push(p.count);
      const names = p.byKernel.map((k) => k.name).sort();
      expect(names).toContain('BatchMatMul (batched)');
      expect(names).toContain('Add');
      expect(names).toContain('Multiply');
      expect(p.count).toBe(p.byKernel.reduce((s, k) => s + k.kernels, 0));
      expect(p.total).toBeCloseTo(
        p.byKernel.reduce((s, k) => s + k.ms, 0),
        9,
      );
      for (const k of p.byKernel) expect(k.ms).toBeGreaterThanOrEqual(0);
    }
    expect(counts[1]).toBe(counts[0]);
  });
});

describe('dispatchMs', () => {
  it('is a small positive time and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    const ms = dispatchMs(200);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(5);
    expect(tf.memory().numTensors).toBe(before);
  });
});
