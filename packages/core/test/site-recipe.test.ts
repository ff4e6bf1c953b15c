import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { ModelCompute } from '../src/site/index.js';
import { evaluate } from '../src/train/index.js';

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

  it("rule 'site': the head update is exactly zero for every answer the site never has", async () => {
    const cfg = { round: 1, steps: 2, batchSize: 8, lr: 3e-3, weightDecay: 0.01, seed: 3 };
    const c = make();
    const own = new Set(data.train.map((s) => s.answer));
    const answers = c.model.answers;
    const A = answers.length;
    const moved = (d: Float32Array, j: number) => {
      for (let k = j; k < d.length; k += A) if (d[k] !== 0) return true;
      return false;
    };
    const site = await c.train([], { ...cfg, answerMask: 'site' });
    const plain = await c.train([], cfg);
    const foreign = answers.map((a, j) => [a, j] as const).filter(([a]) => !own.has(a));
    expect(foreign.length).toBeGreaterThan(10);
    for (const [a, j] of foreign) {
      expect(moved(site.deltas['head/kernel'].data, j), a).toBe(false);
      expect(site.deltas['head/bias'].data[j], a).toBe(0);
      // Without a rule every answer moves (the softmax pushes the absent ones down).
      expect(moved(plain.deltas['head/kernel'].data, j), a).toBe(true);
    }
    // oct's diagnosis answers are trained.
    const trained = answers.filter(
      (a, j) => own.has(a) && moved(site.deltas['head/kernel'].data, j),
    );
    expect(trained.length).toBeGreaterThan(2);
    c.model.dispose();
  });
});

describe('evaluate predictions', () => {
  it('returns the argmax answer under the rule, consistent with the accuracy', async () => {
    const data = syntheticClient('dermatoscope', { seed: 5, scale: 0, floor: 60 });
    const m = createModel(resolveConfig('tiny', { numLayers: 1 }), {
      seed: 3,
      answers: answerVocabulary(),
    });
    const siteAnswers = data.train.map((s) => s.answer);
    const ev = await evaluate(m, data.test, {
      answerMask: 'site',
      siteAnswers,
      predictions: true,
      batchSize: 5,
    });
    const pred = ev.predictions!;
    expect(pred.length).toBe(data.test.length);
    const right = pred.filter((p, i) => p === data.test[i].answer).length;
    expect(right / data.test.length).toBe(ev.accuracy);
    // Rule 'site': never an answer outside the site's own.
    expect(pred.every((p) => siteAnswers.includes(p))).toBe(true);
    // The chunking does not change them.
    const whole = await evaluate(m, data.test, {
      answerMask: 'site',
      siteAnswers,
      predictions: true,
    });
    expect(whole.predictions).toEqual(pred);
    expect((await evaluate(m, data.test)).predictions).toBeUndefined();
    m.dispose();
  });
});
