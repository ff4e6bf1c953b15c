import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { ModelCompute } from '../src/site/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

// A site's compute applies the round's answer rule in training and in the evaluate phase.
describe('ModelCompute with the federated recipe', () => {
  const data = syntheticClient('oct', { seed: 4, scale: 0, floor: 150 });
  const make = () =>
    new ModelCompute({
      model: createModel(resolveConfig('tiny', { numLayers: 1 }), {
        seed: 2,
        answers: answerVocabulary(),
      }),
      train: data.train,
      // Held-out = the training split here: the rule, not generalisation, is under test.
      test: data.train,
    });

  it("rule 'site': an untrained model answers oct's constant questions right, by construction", async () => {
    const c = make();
    const plain = await c.evaluate();
    const site = await c.evaluate({ answerMask: 'site' });
    // oct has one modality and one anatomy answer: with its own answers only, both are forced.
    expect(site.perType.modality.accuracy).toBe(1);
    expect(site.perType.anatomy.accuracy).toBe(1);
    expect(plain.perType.modality.accuracy).toBeLessThan(1);
    expect(site.numSamples).toBe(data.train.length);
    c.model.dispose();
  });

  it('trains with the round config recipe, reproducibly, and restores the global weights', async () => {
    const cfg = {
      round: 1,
      steps: 2,
      batchSize: 8,
      lr: 0.05,
      weightDecay: 0.01,
      seed: 3,
      localOptimizer: 'sgdm' as const,
      momentum: 0.5,
      proxMu: 0.01,
      answerMask: 'site' as const,
    };
    const a = make();
    const before = a.model.getParams(['head/kernel'])['head/kernel'].data.slice();
    const ra = await a.train(['block0.adapter'], cfg);
    expect(a.model.getParams(['head/kernel'])['head/kernel'].data).toEqual(before);
    const b = make();
    const rb = await b.train(['block0.adapter'], cfg);
    expect(rb.deltas['head/kernel'].data).toEqual(ra.deltas['head/kernel'].data);
    const c = make();
    const rc = await c.train(['block0.adapter'], { ...cfg, localOptimizer: 'adamw' });
    expect(rc.deltas['head/kernel'].data).not.toEqual(ra.deltas['head/kernel'].data);
    for (const x of [a, b, c]) x.model.dispose();
  });
});
