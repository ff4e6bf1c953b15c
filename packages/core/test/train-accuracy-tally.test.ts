import { describe, expect, it } from 'vitest';
import { AccuracyTally } from '../src/train/accuracy-tally.js';

describe('AccuracyTally', () => {
  it('counts overall and per question type, and divides the loss by every sample', () => {
    const t = new AccuracyTally();
    t.add('modality', true);
    t.add('diagnosis', false);
    t.add('diagnosis', true);
    t.add('diagnosis', false);
    expect(t.summary(2)).toEqual({
      accuracy: 0.5,
      loss: 0.5,
      n: 4,
      perType: { modality: { accuracy: 1, n: 1 }, diagnosis: { accuracy: 1 / 3, n: 3 } },
    });
  });
});
