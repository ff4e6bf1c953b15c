import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import {
  SitePersonalState,
  checkPersonalization,
  isPersonalParam,
  type Personalization,
} from '../src/federated/index.js';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { ModelCompute } from '../src/site/index.js';
import type { NamedArrays } from '../src/tensors/named.js';
import * as tf from '@tensorflow/tfjs';
import { evaluate, trainLayers } from '../src/train/index.js';
import { AdamW } from '../src/train/adamw.js';
import { deriveSeed } from '../src/random.js';

const arr = (...xs: number[]) => ({ shape: [xs.length], data: Float32Array.from(xs) });
const values = (a: NamedArrays) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, [...v.data]]));

// Which tensors a site keeps and which it sends, on a two-layer, one-head case by hand.
describe('SitePersonalState', () => {
  const trained1: NamedArrays = {
    'block0.adapter/w': arr(1, 2),
    'block1.adapter/w': arr(3),
    'head/kernel': arr(4, 5),
  };
  const deltas: NamedArrays = {
    'block0.adapter/w': arr(0.5, 0.25),
    'head/kernel': arr(0.75, -0.5),
  };

  it("'none' keeps nothing and sends the update as it is", () => {
    const s = new SitePersonalState('none');
    s.afterTraining(trained1);
    expect(s.hasModel).toBe(false);
    expect(s.beforeTraining()).toEqual({});
    expect(s.forEvaluation()).toEqual({});
    expect(s.outgoing(deltas)).toBe(deltas);
  });

  it("'finetune' keeps the whole trained model, starts training from the global one, sends the update unchanged", () => {
    const s = new SitePersonalState('finetune');
    expect(s.forEvaluation()).toEqual({}); // before any training: the global model
    s.afterTraining(trained1);
    expect(s.beforeTraining()).toEqual({});
    expect(values(s.forEvaluation())).toEqual({
      'block0.adapter/w': [1, 2],
      'block1.adapter/w': [3],
      'head/kernel': [4, 5],
    });
    expect(s.outgoing(deltas)).toBe(deltas);
    // The next round's training replaces it.
    s.afterTraining({ 'block0.adapter/w': arr(7, 8), 'head/kernel': arr(9, 9) });
    expect(values(s.forEvaluation())['block0.adapter/w']).toEqual([7, 8]);
    expect(values(s.forEvaluation())['head/kernel']).toEqual([9, 9]);
  });

  it("'adapters' keeps the adapters across rounds, never sends them, shares the head", () => {
    const s = new SitePersonalState('adapters');
    expect(isPersonalParam('adapters', 'block0.adapter/w')).toBe(true);
    expect(isPersonalParam('adapters', 'head/kernel')).toBe(false);
    expect(isPersonalParam('finetune', 'block0.adapter/w')).toBe(false);
    expect(s.beforeTraining()).toEqual({}); // round 1 starts from the global adapters
    s.afterTraining(trained1);
    // Training starts from its adapters (the head comes from the global model).
    expect(values(s.beforeTraining())).toEqual({
      'block0.adapter/w': [1, 2],
      'block1.adapter/w': [3],
    });
    // Only the head travels.
    expect(values(s.outgoing(deltas))).toEqual({ 'head/kernel': [0.75, -0.5] });
    // The site's model: its adapters and the head as its training left it.
    expect(values(s.forEvaluation())).toEqual({
      'block0.adapter/w': [1, 2],
      'block1.adapter/w': [3],
      'head/kernel': [4, 5],
    });
    // A round that trained only block0 keeps block1's earlier personal value.
    s.afterTraining({ 'block0.adapter/w': arr(6, 6), 'head/kernel': arr(0, 0) });
    expect(values(s.beforeTraining())).toEqual({
      'block0.adapter/w': [6, 6],
      'block1.adapter/w': [3],
    });
  });

  it("'proximal' keeps the whole model, trains from it, sends its model minus the global one", () => {
    const s = new SitePersonalState('proximal');
    expect(isPersonalParam('proximal', 'block0.adapter/w')).toBe(false); // nothing withheld
    expect(s.beforeTraining()).toEqual({}); // round 1 starts from the global model
    expect(() => s.outgoing(deltas, trained1)).toThrow(/"block0.adapter\/w" was not trained/);
    s.afterTraining(trained1);
    expect(values(s.beforeTraining())).toEqual({
      'block0.adapter/w': [1, 2],
      'block1.adapter/w': [3],
      'head/kernel': [4, 5],
    });
    const global: NamedArrays = {
      'block0.adapter/w': arr(0.5, 1),
      'block1.adapter/w': arr(0),
      'head/kernel': arr(4, 6),
    };
    // For the names the round trained (the deltas'): own − global = [1 − 0.5, 2 − 1], [4 − 4, 5 − 6].
    expect(values(s.outgoing(deltas, global))).toEqual({
      'block0.adapter/w': [0.5, 1],
      'head/kernel': [0, -1],
    });
    expect(() => s.outgoing(deltas)).toThrow(/the global params lack "block0.adapter\/w"/);
    expect(() => s.outgoing(deltas, { ...global, 'head/kernel': arr(1, 2, 3) })).toThrow(
      /"head\/kernel" has 2 values here, 3 in the global params/,
    );
  });

  it('returns copies: a caller changing them does not change the state', () => {
    const s = new SitePersonalState('finetune');
    const t = { 'head/kernel': arr(1, 2) };
    s.afterTraining(t);
    t['head/kernel'].data[0] = 99;
    s.forEvaluation()['head/kernel'].data[1] = 99;
    expect(values(s.forEvaluation())['head/kernel']).toEqual([1, 2]);
  });

  it('refuses an unknown mode by name', () => {
    expect(() => new SitePersonalState('ditto' as Personalization)).toThrow(
      /personalization must be one of none, finetune, adapters, proximal, got "ditto"/,
    );
    expect(checkPersonalization('finetune')).toBe('finetune');
  });
});

beforeAll(async () => {
  await initNodeBackend('wasm');
});

// A site's compute under 'finetune': the update is what it is without it, the evaluate phase
// scores the site's trained model, and the model holds the global weights again afterwards.
// One site's data and one round's local settings for both modes' ModelCompute tests.
const data = syntheticClient('oct', { seed: 4, scale: 0, floor: 150 });
const cfg = {
  round: 1,
  steps: 3,
  batchSize: 8,
  lr: 0.01,
  weightDecay: 0.01,
  seed: 3,
  answerMask: 'site' as const,
};

/** A site's compute on a 2-block tiny with the same seed, so two of them start identical. */
const make = () =>
  new ModelCompute({
    model: createModel(resolveConfig('tiny', { numLayers: 2 }), {
      seed: 2,
      answers: answerVocabulary(),
    }),
    train: data.train,
    test: data.test,
  });

describe("ModelCompute with personalization 'finetune'", () => {
  it('sends the same update, evaluates the trained model, restores the global weights', async () => {
    const plain = make();
    const pers = make();
    const rPlain = await plain.train(['block1.adapter'], cfg);
    const rPers = await pers.train(['block1.adapter'], { ...cfg, personalization: 'finetune' });
    // What travels is bit for bit what it is without personalisation, and only the trained layers.
    expect(Object.keys(rPers.deltas).sort()).toEqual(Object.keys(rPlain.deltas).sort());
    for (const k of Object.keys(rPlain.deltas))
      expect(rPers.deltas[k].data, k).toEqual(rPlain.deltas[k].data);

    const names = pers.model.trainableParamNames(pers.model.layerNames());
    const global = pers.model.getParams(names);
    const evGlobal = await pers.evaluate({ answerMask: 'site' });
    const evOwn = await pers.evaluate({ answerMask: 'site', personalization: 'finetune' });
    // The global weights are back after the personalised evaluation.
    const after = pers.model.getParams(names);
    for (const k of names) expect(after[k].data, k).toEqual(global[k].data);

    // Independently: the global model plus the update, evaluated by core `evaluate`.
    const trained: NamedArrays = {};
    for (const [k, d] of Object.entries(rPlain.deltas)) {
      const g = global[k];
      trained[k] = { shape: g.shape, data: g.data.map((x, i) => x + d.data[i]) };
    }
    plain.model.setParams(trained);
    const ref = await evaluate(plain.model, data.test, {
      answerMask: 'site',
      siteAnswers: data.train.map((s) => s.answer),
    });
    // restrictHeadDeltas zeroes foreign answers in the update, which the 'site' rule never
    // scores, so the trained model and global + update predict alike.
    expect(evOwn.accuracy).toBeCloseTo(ref.accuracy, 10);
    expect(evOwn.numSamples).toBe(data.test.length);
    expect(evOwn.loss).not.toBe(evGlobal.loss);
    plain.model.dispose();
    pers.model.dispose();
  });

  it("is the global model's evaluation before any training, and deterministic by seed", async () => {
    const a = make();
    const b = make();
    const g = await a.evaluate({ answerMask: 'site' });
    expect(await a.evaluate({ answerMask: 'site', personalization: 'finetune' })).toEqual(g);
    for (const c of [a, b])
      await c.train(['block0.adapter'], { ...cfg, personalization: 'finetune' });
    const ea = await a.evaluate({ answerMask: 'site', personalization: 'finetune' });
    const eb = await b.evaluate({ answerMask: 'site', personalization: 'finetune' });
    expect(ea).toEqual(eb);
    a.model.dispose();
    b.model.dispose();
  });
});

// Under 'adapters' the site's adapters are its own: the update carries the head only, the next
// round's training starts from the site's adapters, and the model holds the global weights
// again after training and after evaluation.
describe("ModelCompute with personalization 'adapters'", () => {
  const adapters = { ...cfg, personalization: 'adapters' as const };
  it('sends the head only, starts round 2 from its own adapters, restores the global weights', async () => {
    const model = createModel(resolveConfig('tiny', { numLayers: 2 }), {
      seed: 2,
      answers: answerVocabulary(),
    });
    const c = new ModelCompute({ model, train: data.train, test: data.test });
    const names = model.trainableParamNames(model.layerNames());
    const global = model.getParams(names);
    const r1 = await c.train(['block0.adapter', 'block1.adapter'], adapters);
    expect(Object.keys(r1.deltas).every((n) => n.startsWith('head/'))).toBe(true);
    expect(Object.keys(r1.deltas).length).toBe(model.paramNames('head').length);
    const same = (a: NamedArrays) =>
      names.every((k) => a[k].data.every((x, i) => x === global[k].data[i]));
    expect(same(model.getParams(names))).toBe(true);
    await c.evaluate({ answerMask: 'site', personalization: 'adapters' });
    expect(same(model.getParams(names))).toBe(true);

    // Round 2 from the site's adapters: another site that starts from the global adapters
    // (a fresh compute given round 1's adapters by hand) computes the same head update.
    const r2 = await c.train(['block1.adapter'], { ...adapters, round: 2 });
    const own = new ModelCompute({
      model: createModel(resolveConfig('tiny', { numLayers: 2 }), {
        seed: 2,
        answers: answerVocabulary(),
      }),
      train: data.train,
      test: data.test,
    });
    const ref1 = await own.train(['block0.adapter', 'block1.adapter'], cfg);
    const start: NamedArrays = {};
    for (const [k, d] of Object.entries(ref1.deltas)) {
      if (k.startsWith('head/')) continue;
      start[k] = { shape: d.shape, data: global[k].data.map((x, i) => x + d.data[i]) };
    }
    own.model.setParams(start);
    const ref2 = await own.train(['block1.adapter'], {
      ...adapters,
      round: 2,
      personalization: 'none',
    });
    // Equal up to float32 rounding (the site kept its trained adapters; here global + delta).
    for (const k of Object.keys(r2.deltas)) {
      const d = ref2.deltas[k].data;
      const diff = r2.deltas[k].data.reduce((m, x, i) => Math.max(m, Math.abs(x - d[i])), 0);
      expect(diff, k).toBeLessThan(1e-6);
    }
    // Training round 2 from the global adapters instead gives another head update.
    own.model.setParams(global);
    const g2 = await own.train(['block1.adapter'], {
      ...adapters,
      round: 2,
      personalization: 'none',
    });
    expect(g2.deltas['head/kernel'].data).not.toEqual(r2.deltas['head/kernel'].data);
    model.dispose();
    own.model.dispose();
  });
});

// Under 'proximal' the site's whole model is its own: round 1 (from the global model, μ = 0)
// sends exactly the plain update; round 2 starts from the site's model, is pulled toward the
// global model, and sends its model minus the global one.
describe("ModelCompute with personalization 'proximal'", () => {
  const layers = ['block0.adapter', 'block1.adapter'];

  it('sends own − global, trains round 2 from its own model with the pull, restores the global weights', async () => {
    const c = make();
    const ref = make();
    const names = c.model.trainableParamNames(c.model.layerNames());
    const global = c.model.getParams(names);
    const prox = { ...cfg, personalization: 'proximal' as const, proxMu: 0 };
    const r1 = await c.train(layers, prox);
    const plain1 = await ref.train(layers, cfg);
    for (const k of Object.keys(plain1.deltas))
      expect(r1.deltas[k].data, k).toEqual(plain1.deltas[k].data);
    const same = (a: NamedArrays) =>
      names.every((k) => a[k].data.every((x, i) => x === global[k].data[i]));
    expect(same(c.model.getParams(names))).toBe(true);

    // Round 2 with the pull, against trainLayers by hand from the site's round-1 model
    // (global + the plain round-1 update; under the rule the foreign answers' columns of the
    // update are zero, and the rule never scores them, so they do not change what is learnt).
    const mu = 0.5;
    const r2 = await c.train(['block1.adapter'], { ...prox, proxMu: mu, round: 2 });
    const v1: NamedArrays = {};
    for (const k of names) {
      const d = plain1.deltas[k]?.data;
      v1[k] = { shape: global[k].shape, data: global[k].data.map((x, i) => x + (d ? d[i] : 0)) };
    }
    expect(same(c.model.getParams(names))).toBe(true);
    const round2 = {
      layers: ['block1.adapter'],
      steps: cfg.steps,
      batchSize: cfg.batchSize,
      lr: cfg.lr,
      weightDecay: cfg.weightDecay,
      seed: deriveSeed(cfg.seed, 2, 'train'),
      answerMask: 'site' as const,
    };
    ref.model.setParams(v1);
    const byHand = await trainLayers(ref.model, data.train, {
      ...round2,
      proxMu: mu,
      proxAnchor: global,
    });
    const reachable = Object.keys(r2.deltas);
    expect(reachable.sort()).toEqual(Object.keys(byHand.deltas).sort());
    let compared = 0;
    for (const k of reachable) {
      const d = byHand.deltas[k].data;
      // own − global = (v1 + d) − global, up to float32 rounding. The head's foreign answers
      // are zero in what is sent (restrictHeadDeltas), so the head compares its nonzero entries.
      const sent = r2.deltas[k].data;
      let diff = 0;
      for (let i = 0; i < sent.length; i++) {
        if (k.startsWith('head/') && sent[i] === 0) continue;
        compared += 1;
        diff = Math.max(diff, Math.abs(sent[i] - (v1[k].data[i] + d[i] - global[k].data[i])));
      }
      expect(diff, k).toBeLessThan(1e-6);
    }
    expect(compared).toBeGreaterThan(1000);
    // The pull acted: without it round 2 sends another update.
    ref.model.setParams(v1);
    const noPull = await trainLayers(ref.model, data.train, round2);
    const k0 = 'block1.adapter/down_kernel';
    expect(noPull.deltas[k0].data).not.toEqual(byHand.deltas[k0].data);
    c.model.dispose();
    ref.model.dispose();
  });
});

// trainLayers' continueOptimizer: the caller's AdamW carries its moments and step count into
// the next call (a personalised site's own adapters across rounds) and is not disposed by it.
describe('trainLayers continueOptimizer', () => {
  const model = () =>
    createModel(resolveConfig('tiny', { numLayers: 1 }), { seed: 2, answers: answerVocabulary() });
  const opts = { layers: ['block0.adapter'], steps: 3, batchSize: 8, lr: 0.01 };

  it('continues the optimiser: another second update than a fresh one, reproducibly, no leak', async () => {
    const before = tf.memory().numTensors;
    const run = async (keep: boolean) => {
      const m = model();
      const opt = keep ? new AdamW({ lr: 0.01, weightDecay: 0.01 }) : undefined;
      await trainLayers(m, data.train, { ...opts, seed: 1, continueOptimizer: opt });
      const second = await trainLayers(m, data.train, { ...opts, seed: 2, continueOptimizer: opt });
      opt?.dispose();
      m.dispose();
      const name = Object.keys(second.deltas).find((n) => n.startsWith('block0.adapter'))!;
      return second.deltas[name].data;
    };
    const kept = await run(true);
    const again = await run(true);
    const fresh = await run(false);
    expect(again).toEqual(kept);
    expect(fresh).not.toEqual(kept);
    expect(tf.memory().numTensors).toBe(before);
  });
});
