import { describe, expect, it } from 'vitest';
import {
  CLIENT_NAMES,
  SUBSETS,
  answerVocabulary,
  syntheticClient,
  syntheticClientSize,
  type VqaSample,
} from '../src/data/index.js';

const digest = (samples: VqaSample[]): string => {
  let h = 0;
  for (const s of samples) {
    for (const b of s.image) h = (Math.imul(h, 31) + b) | 0;
    h = (Math.imul(h, 31) + s.question.length + s.answer.length) | 0;
  }
  return `${samples.length}:${h}`;
};

describe('syntheticClient', () => {
  it('gives every client an 80/20 split at the documented sizes, answers in the vocabulary', () => {
    const vocab = new Set(answerVocabulary());
    for (const name of CLIENT_NAMES) {
      const { train, test } = syntheticClient(name, { seed: 3, scale: 0.0005, floor: 40 });
      const total = syntheticClientSize(name, { scale: 0.0005, floor: 40 });
      expect(train.length + test.length).toBe(total);
      expect(test.length).toBe(Math.round(total * 0.2));
      for (const s of [...train, ...test]) {
        expect(vocab.has(s.answer), `${name}: "${s.answer}"`).toBe(true);
        expect(s.image.length).toBe(s.size * s.size * s.channels);
        expect(s.size).toBe(28);
        expect(s.answer).toBe(s.answer.toLowerCase());
        // Own compact buffer: structured clone / IndexedDB must not drag a whole file along.
        expect(s.image.byteOffset).toBe(0);
        expect(s.image.buffer.byteLength).toBe(s.image.length);
      }
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = syntheticClient('ultrasound', { seed: 7, floor: 30 });
    const b = syntheticClient('ultrasound', { seed: 7, floor: 30 });
    const c = syntheticClient('ultrasound', { seed: 8, floor: 30 });
    expect(digest(a.train)).toBe(digest(b.train));
    expect(digest(a.test)).toBe(digest(b.test));
    expect(digest(a.train)).not.toBe(digest(c.train));
  });

  it('rejects an unknown client with the valid names', () => {
    expect(() => syntheticClient('lungs' as never, { seed: 1 })).toThrow(/chest_xray/);
  });

  it('answerVocabulary is sorted, unique, lowercase and stable', () => {
    const v = answerVocabulary();
    expect([...v].sort()).toEqual(v);
    expect(new Set(v).size).toBe(v.length);
    expect(v.every((a) => a === a.toLowerCase())).toBe(true);
    expect(answerVocabulary()).toEqual(v);
    for (const a of ['yes', 'no', 'lymphocyte', 'sagittal', 'grade 0', 'x-ray'])
      expect(v).toContain(a);
    // Every class answer of every subset is an output class.
    for (const info of Object.values(SUBSETS)) for (const a of info.answers) expect(v).toContain(a);
    // The vocabulary is the model head's class list: a change here invalidates checkpoints,
    // so its size is pinned on purpose.
    expect(v.length).toBe(89);
  });
});
