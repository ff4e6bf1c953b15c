import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient, type VqaSample } from '../src/data/index.js';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import {
  AnswerMask,
  MASKED_LOGIT,
  SgdMomentum,
  answerMaskBias,
  restrictHeadDeltas,
  answersByQuestionType,
  evaluate,
  learningRateAt,
  trainLayers,
  withProximal,
} from '../src/train/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('learningRateAt', () => {
  it('warms up linearly, then is constant or follows a cosine to 0', () => {
    expect([0, 1, 2, 3, 9].map((s) => learningRateAt(s, 10, 1, 2))).toEqual([0.5, 1, 1, 1, 1]);
    // cosine over the 8 steps after warm-up: t = (step - 2) / 8.
    expect(learningRateAt(2, 10, 1, 2, 'cosine')).toBeCloseTo(1, 12);
    expect(learningRateAt(6, 10, 1, 2, 'cosine')).toBeCloseTo(0.5, 12);
    expect(learningRateAt(9, 10, 1, 2, 'cosine')).toBeCloseTo(
      0.5 * (1 + Math.cos((Math.PI * 7) / 8)),
      12,
    );
  });
});

describe('SgdMomentum', () => {
  it('matches u = μ u + g; p -= lr (u + wd p) by hand over two steps', () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new SgdMomentum({ momentum: 0.5, weightDecay: 0.1 });
    const g = tf.tensor1d([0.4, 0.2]);
    opt.step({ p }, { p: g }, 0.1);
    // u1 = g = [0.4, 0.2]; p1 = p0 - 0.1 (u1 + 0.1 p0) = [1 - 0.05, -2 - 0.0]
    expect(Array.from(p.dataSync())).toEqual([0.95, -2].map(Math.fround));
    opt.step({ p }, { p: g }, 0.1);
    // u2 = 0.5 u1 + g = [0.6, 0.3]; p2 = p1 - 0.1 (u2 + 0.1 p1)
    const e = [0.95 - 0.1 * (0.6 + 0.095), -2 - 0.1 * (0.3 - 0.2)];
    p.dataSync().forEach((v, i) => expect(v).toBeCloseTo(e[i], 6));
    opt.dispose();
    tf.dispose([p, g]);
  });
});

describe('withProximal (FedProx)', () => {
  it('adds μ (w - w_global) and disposes the input gradients', () => {
    const w = tf.variable(tf.tensor1d([1, 3]));
    const anchor = tf.tensor1d([0, 1]);
    const g = tf.tensor1d([0.5, -0.5]);
    const out = withProximal({ w: g }, { w }, { w: anchor }, 0.1);
    expect(Array.from(out.w.dataSync())).toEqual([0.6, -0.3].map(Math.fround));
    expect(g.isDisposed).toBe(true);
    tf.dispose([w, anchor, out.w]);
  });
});

describe('question-type answer mask', () => {
  const vocab = answerVocabulary();
  const data = syntheticClient('chest_xray', { seed: 3 });

  it('allows exactly the answers of the sample type; every sample keeps its right answer', () => {
    const sets = answersByQuestionType();
    expect([...sets.modality].sort()).toContain('x-ray');
    expect(sets.modality.has('no')).toBe(false);
    const bias = answerMaskBias(data.train, vocab, 'question-type')!;
    const rows = bias.arraySync();
    data.train.forEach((s, i) => {
      expect(rows[i][vocab.indexOf(s.answer)], s.question).toBe(0);
      vocab.forEach((a, j) => {
        expect(rows[i][j]).toBe(sets[s.questionType].has(a) ? 0 : MASKED_LOGIT);
      });
    });
    bias.dispose();
    expect(answerMaskBias(data.train, vocab, 'none')).toBeNull();
  });

  it('leaves a sample whose answer its type does not list unmasked', () => {
    const odd = { questionType: 'modality', answer: 'yes' };
    const b = answerMaskBias([odd, { questionType: 'unknown-type' }], vocab, 'question-type')!;
    expect(
      b
        .arraySync()
        .flat()
        .every((v) => v === 0),
    ).toBe(true);
    b.dispose();
  });

  it('trainLayers and evaluate with the mask: reproducible, no tensor leak', async () => {
    const config = resolveConfig('tiny', { numLayers: 2 });
    const train = data.train.slice(0, 48) as VqaSample[];
    const run = async () => {
      const m = createModel(config, { seed: 1, answers: vocab });
      const res = await trainLayers(m, train, {
        layers: ['block1.adapter'],
        steps: 3,
        batchSize: 16,
        lr: 3e-3,
        seed: 5,
        answerMask: 'question-type',
        optimizer: 'sgdm',
        proxMu: 0.01,
        schedule: 'cosine',
      });
      const ev = await evaluate(m, train, { answerMask: 'question-type' });
      m.dispose();
      return { d: Array.from(res.deltas['head/kernel'].data.slice(0, 50)), acc: ev.accuracy };
    };
    const before = tf.memory().numTensors;
    const a = await run();
    expect(tf.memory().numTensors).toBe(before);
    const b = await run();
    expect(b).toEqual(a);
  });

  it("rule 'site' also masks the answers the site's training split never has", () => {
    const site = data.train.map((s) => s.answer);
    const have = new Set(site);
    const sets = answersByQuestionType();
    const bias = answerMaskBias(data.train, vocab, 'site', { siteAnswers: site })!;
    const rows = bias.arraySync();
    data.train.forEach((s, i) => {
      vocab.forEach((a, j) => {
        expect(rows[i][j]).toBe(sets[s.questionType].has(a) && have.has(a) ? 0 : MASKED_LOGIT);
      });
    });
    bias.dispose();
    // A chest X-ray site's modality questions have exactly one allowed answer.
    const modality = data.train.findIndex((s) => s.questionType === 'modality');
    expect(rows[modality].filter((v) => v === 0).length).toBe(1);
    expect(() => answerMaskBias(data.train, vocab, 'site')).toThrow(/needs the site's answers/);
  });

  it('reachable: the answers some sample allows; an unmasked sample reaches every answer', () => {
    const site = data.train.map((s) => s.answer);
    const mask = new AnswerMask(vocab, 'site', { siteAnswers: site });
    const reach = mask.reachable(data.train);
    // Under rule 'site' a synthetic site reaches exactly its own answers.
    expect(vocab.filter((_, j) => reach[j]).sort()).toEqual([...new Set(site)].sort());
    const qt = new AnswerMask(vocab, 'question-type').reachable([{ questionType: 'modality' }]);
    expect(vocab.filter((_, j) => qt[j]).sort()).toEqual(
      [...answersByQuestionType().modality].sort(),
    );
    expect(mask.reachable([...data.train, { questionType: 'modality', answer: 'yes' }])).toEqual(
      vocab.map(() => true),
    );
    expect(new AnswerMask(vocab, 'none').reachable(data.train)).toEqual(vocab.map(() => true));
    expect(mask.reachable([])).toEqual(vocab.map(() => false));
  });

  it('restrictHeadDeltas zeroes exactly the unreachable answers of the head', () => {
    const deltas = {
      'block0.adapter/w': { shape: [2], data: Float32Array.from([1, 2]) },
      'head/kernel': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      'head/bias': { shape: [3], data: Float32Array.from([7, 8, 9]) },
    };
    const r = restrictHeadDeltas(deltas, [true, false, true]);
    expect(Array.from(r['head/kernel'].data)).toEqual([1, 0, 3, 4, 0, 6]);
    expect(Array.from(r['head/bias'].data)).toEqual([7, 0, 9]);
    expect(r['block0.adapter/w']).toBe(deltas['block0.adapter/w']);
    expect(Array.from(deltas['head/bias'].data)).toEqual([7, 8, 9]);
    expect(() => restrictHeadDeltas(deltas, [true, false])).toThrow(/3 answers on its last axis/);
  });

  it("under rule 'site' the head gets no gradient for answers the site never has", async () => {
    // With weight decay 0 the trained head's unreachable columns do not move at all, so
    // restricting the update removes only weight decay (which moves them otherwise).
    const config = resolveConfig('tiny', { numLayers: 1 });
    const train = data.train.slice(0, 32) as VqaSample[];
    const site = train.map((s) => s.answer);
    const reach = new AnswerMask(vocab, 'site', { siteAnswers: site }).reachable(train);
    const run = async (weightDecay: number) => {
      const m = createModel(config, { seed: 2, answers: vocab });
      const res = await trainLayers(m, train, {
        layers: [],
        steps: 3,
        batchSize: 16,
        lr: 1e-2,
        weightDecay,
        seed: 4,
        answerMask: 'site',
      });
      m.dispose();
      return res.deltas;
    };
    const A = vocab.length;
    const movedOf = (d: Float32Array, j: number) => {
      let moved = false;
      for (let k = j; k < d.length; k += A) if (d[k] !== 0) moved = true;
      return moved;
    };
    const plain = await run(0);
    vocab.forEach((a, j) => {
      // (A reachable answer may still stand still: the only answer a question allows gets
      // softmax probability 1 and no gradient, e.g. chest_xray's modality "x-ray".)
      if (!reach[j]) expect(movedOf(plain['head/kernel'].data, j), a).toBe(false);
      if (!reach[j]) expect(plain['head/bias'].data[j], a).toBe(0);
    });
    expect(
      vocab.filter((_, j) => reach[j] && movedOf(plain['head/kernel'].data, j)).length,
    ).toBeGreaterThan(2);
    const decayed = await run(0.1);
    const foreign = vocab.findIndex((_, j) => !reach[j]);
    expect(movedOf(decayed['head/kernel'].data, foreign)).toBe(true);
    const restricted = restrictHeadDeltas(decayed, reach);
    expect(movedOf(restricted['head/kernel'].data, foreign)).toBe(false);
  });

  it('rejects unknown rules and recipe fields naming them', async () => {
    expect(() => answerMaskBias([], vocab, 'client' as never)).toThrow(
      /answer mask must be one of/,
    );
    const m = createModel(resolveConfig('tiny', { numLayers: 1 }), { seed: 1, answers: vocab });
    const s = data.train.slice(0, 4);
    await expect(
      trainLayers(m, s, { layers: [], steps: 1, seed: 1, optimizer: 'sgd' as never }),
    ).rejects.toThrow(/local optimizer must be one of adamw, sgdm/);
    await expect(trainLayers(m, s, { layers: [], steps: 1, seed: 1, proxMu: -1 })).rejects.toThrow(
      /proxMu/,
    );
    m.dispose();
  });
});
