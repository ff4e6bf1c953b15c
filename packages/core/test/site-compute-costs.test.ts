// ModelCompute reports what a training round cost the site: mean step time and backend memory.
import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import { createModel } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { ModelCompute } from '../src/site/index.js';
import { WASM_HEAP_MAX_BYTES } from '../src/train/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('ModelCompute training costs', () => {
  it('reports a positive step time and the wasm heap size', async () => {
    const data = syntheticClient('oct', { seed: 2, scale: 0, floor: 20 });
    const model = createModel('tiny', { seed: 1, answers: answerVocabulary(), weights: 'int8' });
    const c = new ModelCompute({ model, train: data.train, test: data.test, metricSamples: 8 });
    const r = await c.train(model.layerNames().slice(-1), {
      round: 1,
      steps: 2,
      batchSize: 4,
      lr: 1e-3,
      weightDecay: 0,
      seed: 3,
    });
    expect(r.metrics.stepMs).toBeGreaterThan(0);
    expect(r.metrics.memoryBytes).toBeGreaterThan(model.residentBytes().fp32Tensors);
    expect(r.metrics.memoryBytes).toBeLessThanOrEqual(WASM_HEAP_MAX_BYTES);
    model.dispose();
  });
});
