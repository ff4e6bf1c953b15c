import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import {
  checkPersonalMix,
  mixLogProbabilities,
  scoreLogProbabilities,
} from '../src/federated/index.js';
import { createModel, resolveConfig } from '../src/model/index.js';
import { initNodeBackend } from '../src/node/index.js';
import { MASKED_LOGIT, evaluate } from '../src/train/index.js';

const logs = (...ps: number[]) => Float32Array.from(ps, Math.log);

// Model interpolation of outputs (Mansour et al., 2020): λ·p_own + (1 − λ)·p_shared.
describe('mixLogProbabilities', () => {
  it('mixes two probability rows as computed by hand', () => {
    // own (0.7, 0.2, 0.1), shared (0.1, 0.6, 0.3), λ 0.25:
    // 0.25·0.7 + 0.75·0.1 = 0.25, 0.25·0.2 + 0.75·0.6 = 0.5, 0.25·0.1 + 0.75·0.3 = 0.25.
    const mixed = mixLogProbabilities(logs(0.7, 0.2, 0.1), logs(0.1, 0.6, 0.3), 0.25);
    expect([...mixed].map(Math.exp)).toEqual([0.25, 0.5, 0.25].map((x) => expect.closeTo(x, 6)));
    // The mixture's argmax (answer 1) is neither model's alone for the own one (answer 0).
    const scored = scoreLogProbabilities(mixed, ['a', 'b', 'c'], [
      { questionType: 'diagnosis', answer: 'b' },
    ] as never);
    expect(scored.predictions).toEqual(['b']);
    expect(scored.loss).toBeCloseTo(-Math.log(0.5), 6);
  });

  it('keeps a masked answer masked (log probability near MASKED_LOGIT, not −∞)', () => {
    const own = Float32Array.from([Math.log(0.4), Math.log(0.6), MASKED_LOGIT]);
    const shared = Float32Array.from([Math.log(0.9), Math.log(0.1), MASKED_LOGIT]);
    const mixed = mixLogProbabilities(own, shared, 0.5);
    expect(Math.exp(mixed[0])).toBeCloseTo(0.65, 6);
    expect(Math.exp(mixed[1])).toBeCloseTo(0.35, 6);
    expect(mixed[2]).toBeCloseTo(MASKED_LOGIT, 0);
    expect(Number.isFinite(mixed[2])).toBe(true);
  });

  it('λ = 1 returns the own values exactly, λ = 0 the shared ones', () => {
    const own = Float32Array.from([-0.1, -2.5, -7.25, MASKED_LOGIT, -1e-7]);
    const shared = Float32Array.from([-3, -0.01, -9.5, -0.5, MASKED_LOGIT]);
    expect(mixLogProbabilities(own, shared, 1)).toEqual(own);
    expect(mixLogProbabilities(own, shared, 0)).toEqual(shared);
  });

  it('rejects a λ outside [0, 1] or not a number, and arrays of different lengths', () => {
    const a = logs(0.5, 0.5);
    for (const bad of [NaN, -0.1, 1.1, Infinity, '0.5', undefined]) {
      expect(() => mixLogProbabilities(a, a, bad as number)).toThrow(
        /personalMix .* must be a number in \[0, 1\]/,
      );
      expect(() => checkPersonalMix(bad)).toThrow(/personalMix/);
    }
    expect(checkPersonalMix(0.3)).toBe(0.3);
    expect(() => mixLogProbabilities(a, logs(1), 0.5)).toThrow(/2 values, the shared one 1/);
  });
});

describe('scoreLogProbabilities', () => {
  it('scores as evaluate does: first largest wins, an unknown answer is wrong and adds no loss', () => {
    const answers = ['yes', 'no', 'chest'];
    const logP = Float32Array.from([
      ...[Math.log(0.5), Math.log(0.5), Math.log(1e-9)], // a tie: the first answer
      ...[Math.log(0.2), Math.log(0.7), Math.log(0.1)],
      ...[Math.log(0.1), Math.log(0.1), Math.log(0.8)],
    ]);
    const samples = [
      { questionType: 'other', answer: 'yes' },
      { questionType: 'other', answer: 'yes' },
      { questionType: 'modality', answer: 'retina' }, // not in the head's answers
    ];
    const r = scoreLogProbabilities(logP, answers, samples as never);
    expect(r.predictions).toEqual(['yes', 'no', 'chest']);
    expect(r.accuracy).toBeCloseTo(1 / 3, 12);
    expect(r.perType).toEqual({ other: { accuracy: 0.5, n: 2 }, modality: { accuracy: 0, n: 1 } });
    expect(r.loss).toBeCloseTo((-Math.log(0.5) - Math.log(0.2)) / 3, 6);
    expect(() => scoreLogProbabilities(logP, answers, samples.slice(0, 2) as never)).toThrow(
      /9 values for 2 samples x 3 answers/,
    );
  });
});

describe('the mixture of two real models', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it("λ = 1 gives the own model's predictions exactly, λ = 0 the shared model's", async () => {
    const data = syntheticClient('oct', { seed: 3, scale: 0, floor: 100 });
    const config = resolveConfig('tiny', { numLayers: 1 });
    const answers = answerVocabulary();
    const own = createModel(config, { seed: 1, answers });
    const shared = createModel(config, { seed: 2, answers });
    try {
      const opts = {
        answerMask: 'site' as const,
        siteAnswers: data.train.map((s) => s.answer),
        predictions: true,
        logProbabilities: true,
      };
      const a = await evaluate(own, data.test, opts);
      const b = await evaluate(shared, data.test, opts);
      expect(a.logProbabilities!.length).toBe(data.test.length * answers.length);
      expect(a.predictions).not.toEqual(b.predictions);
      for (const [lambda, ref] of [
        [1, a],
        [0, b],
      ] as const) {
        const m = scoreLogProbabilities(
          mixLogProbabilities(a.logProbabilities!, b.logProbabilities!, lambda),
          answers,
          data.test,
        );
        expect(m.predictions).toEqual(ref.predictions);
        expect(m.accuracy).toBe(ref.accuracy);
        expect(m.perType).toEqual(ref.perType);
        expect(m.loss).toBeCloseTo(ref.loss, 3);
      }
      // Under the rule both models put no mass outside the site's answers, nor does the mixture.
      const half = scoreLogProbabilities(
        mixLogProbabilities(a.logProbabilities!, b.logProbabilities!, 0.5),
        answers,
        data.test,
      );
      const site = new Set(opts.siteAnswers);
      expect(half.predictions.every((p) => site.has(p))).toBe(true);
    } finally {
      own.dispose();
      shared.dispose();
    }
  });
});
