import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/index.js';
import { gaussian, mulberry32 } from '../src/random.js';
import { fitSoftmaxClassifier } from '../src/train/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** XOR of the signs of two coordinates (+ noise dims): not linearly separable. */
function xor(n: number, seed: number) {
  const rand = mulberry32(seed);
  const d = 4;
  const x = new Float32Array(n * d);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = gaussian(rand);
    y.push(Number(x[i * d] > 0 !== x[i * d + 1] > 0));
  }
  return { x, y, d };
}

const acc = (p: number[], y: number[]) => y.filter((v, i) => p[i] === v).length / y.length;

describe('softmax classifier', () => {
  it('an MLP learns XOR, logistic regression cannot; deterministic; no tensor leak', () => {
    const tr = xor(600, 3);
    const te = xor(300, 4);
    const n0 = tf.memory().numTensors;
    const mlp = fitSoftmaxClassifier(tr.x, tr.y, tr.d, {
      hidden: 32,
      epochs: 60,
      lr: 1e-2,
      seed: 5,
    });
    const lin = fitSoftmaxClassifier(tr.x, tr.y, tr.d, { epochs: 60, lr: 1e-2, seed: 5 });
    const pm = mlp.predict(te.x);
    expect(acc(pm, te.y)).toBeGreaterThan(0.9);
    expect(acc(lin.predict(te.x), te.y)).toBeLessThan(0.7);
    const again = fitSoftmaxClassifier(tr.x, tr.y, tr.d, {
      hidden: 32,
      epochs: 60,
      lr: 1e-2,
      seed: 5,
    });
    expect(again.predict(te.x)).toEqual(pm);
    expect(again.trainAccuracy).toBe(mlp.trainAccuracy);
    for (const f of [mlp, lin, again]) f.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('refuses bad input', () => {
    const x = new Float32Array(6);
    expect(() => fitSoftmaxClassifier(x, [0, 1, 0], 3)).toThrow(/do not make/);
    expect(() => fitSoftmaxClassifier(x, [0, -1, 0], 2)).toThrow(/bad label/);
    expect(() => fitSoftmaxClassifier(x, [], 2)).toThrow(/empty/);
    expect(() => fitSoftmaxClassifier(x, [0, 1, 0], 2, { hidden: 1.5 })).toThrow(/hidden/);
    const f = fitSoftmaxClassifier(x, [0, 1, 0], 2, { epochs: 1 });
    expect(() => f.predict(new Float32Array(3))).toThrow(/rows of 2/);
    f.dispose();
  });
});
