// trainStepFlops (model/flops.ts) against an independent count: the matrix products tfjs
// really runs in one training step, read from tf.profile (2 * size(A) * columns of the output
// for every BatchMatMul kernel, forward and backward, and for the fused dense kernels of the
// wasm backend, whose first input is the left operand: x W, dy W^T, x^T dy; attention's
// per-head products, FocusHeadMatMul, by their form).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  resolveConfig,
  trainStepFlops,
  type ModelConfig,
} from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { trainLayers } from '../src/train/index.js';
import { TOY_ANSWERS, toySamples } from './model-helpers.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function profiledFlops(c: ModelConfig, layers: string[], cache: boolean, n: number) {
  const m = createModel(c, { seed: 1, answers: TOY_ANSWERS });
  const samples = toySamples(n, 3);
  const opts = { layers, steps: 1, batchSize: n, seed: 1, prefixCacheBytes: cache ? 2 ** 30 : 0 };
  const prof = await tf.profile(async () => {
    await trainLayers(m, samples, opts);
  });
  m.dispose();
  let flops = 0;
  const products = new Set(['BatchMatMul', 'FocusDense', 'FocusDenseGradX', 'FocusDenseGradW']);
  for (const k of prof.kernels) {
    const a = k.inputShapes[0] as number[];
    const out = k.outputShapes[0] as number[];
    if (products.has(k.name)) flops += 2 * size(a) * out[out.length - 1];
    else if (k.name === 'FocusHeadMatMul')
      // Attention's per-head products: Q K^T (out [n, heads, L, L]) is 2 * size(Q) * L; the
      // forms whose left operand is the scores [n, heads, L, L] write [n, L, H] and multiply
      // each head by a d = H / heads column slice.
      flops += 2 * size(a) * (out.length === 4 ? out[3] : out[2] / a[1]);
  }
  return flops;
}

describe('trainStepFlops', () => {
  const adapter = resolveConfig('tiny', { numLayers: 3, numAnswers: 3 });
  const lora = resolveConfig('tiny', { numLayers: 3, numAnswers: 3, peft: 'lora' });
  const cases: [string, ModelConfig, number[]][] = [
    ['adapter, head only', adapter, []],
    ['adapter, last block', adapter, [2]],
    ['adapter, blocks 0 and 2', adapter, [0, 2]],
    ['adapter, all', adapter, [0, 1, 2]],
    ['lora, block 1', lora, [1]],
    ['lora, blocks 0 and 1', lora, [0, 1]],
  ];
  it.each(cases)('%s: equals the products tfjs runs in a step', async (_, c, blocks) => {
    const n = 5;
    const layers = blocks.map((i) => `block${i}.${c.peft}`);
    // One step with the prefix computed per step: every product of the step is in the profile.
    const counted = await profiledFlops(c, layers, false, n);
    const f = trainStepFlops(c, n, blocks, false);
    expect(f.step).toBe(counted);
    expect(f.step).toBe(f.prefix + f.forward + f.backward);
    expect(trainStepFlops(c, n, blocks, true).step).toBe(f.forward + f.backward);
  });
});
