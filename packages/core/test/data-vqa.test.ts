import { describe, expect, it } from 'vitest';
import {
  QUESTION_MIX,
  SUBSETS,
  SUBSET_NAMES,
  answerVocabulary,
  arraysToVqa,
  clientFromArrays,
  labelWidth,
  majorityBaseline,
  questionMix,
  splitTrainTest,
  templatesOf,
  type MedMnistArrays,
  type QuestionType,
  type SubsetName,
  type VqaSample,
} from '../src/data/index.js';
import { mulberry32 } from '../src/random.js';

/** Label-only arrays (8 px blank images are enough for the question logic). */
function labelArrays(subset: SubsetName, n: number, seed: number, size = 28): MedMnistArrays {
  const info = SUBSETS[subset];
  const w = labelWidth(subset);
  const rand = mulberry32(seed);
  const labels = new Uint8Array(n * w);
  for (let i = 0; i < n; i++) {
    if (w > 1) for (let j = 0; j < w; j++) labels[i * w + j] = rand() < 0.2 ? 1 : 0;
    else labels[i] = Math.floor(rand() * info.labels.length);
  }
  const images = new Uint8Array(n * size * size * info.channels);
  for (let i = 0; i < images.length; i++) images[i] = (i * 13) & 255;
  return { images, labels, count: n, size, channels: info.channels, labelWidth: w };
}

const countTypes = (samples: VqaSample[]): Map<QuestionType, number> => {
  const m = new Map<QuestionType, number>();
  for (const s of samples) m.set(s.questionType, (m.get(s.questionType) ?? 0) + 1);
  return m;
};

describe('question-type mix (docs/method.md §5)', () => {
  it('renormalises the paper mix over the types a subset supports', () => {
    for (const s of SUBSET_NAMES) {
      const mix = questionMix(s);
      const sum = Object.values(mix).reduce((a, b) => a + (b as number), 0);
      expect(sum).toBeCloseTo(1, 12);
      const types = Object.keys(mix) as QuestionType[];
      const raw = types.reduce((a, t) => a + QUESTION_MIX[t], 0);
      for (const t of types) expect(mix[t]).toBeCloseTo(QUESTION_MIX[t] / raw, 12);
    }
    // OCT supports diagnosis, anatomy, modality, other: 0.39 / 0.79.
    expect(questionMix('octmnist').diagnosis).toBeCloseTo(0.39 / 0.79, 12);
    expect(questionMix('retinamnist').grading).toBeCloseTo(0.01 / 0.8, 12);
    expect(questionMix('pathmnist').tissue).toBeCloseTo(0.2 / 0.99, 12);
  });

  it('matches the mix on a large sample (within 1.5 points per type)', () => {
    for (const s of [
      'pathmnist',
      'octmnist',
      'retinamnist',
      'organsmnist',
      'chestmnist',
    ] as const) {
      const n = 20_000;
      const counts = countTypes(arraysToVqa(s, labelArrays(s, n, 1, 8), 11));
      const mix = questionMix(s);
      for (const [t, p] of Object.entries(mix)) {
        expect(
          Math.abs((counts.get(t as QuestionType) ?? 0) / n - (p as number)),
          `${s}/${t}`,
        ).toBeLessThan(0.015);
      }
      for (const t of counts.keys()) expect(mix[t], `${s}: unexpected ${t}`).toBeDefined();
    }
  });

  it('pooled over the nine subsets with all types, the paper mix is recovered where supported', () => {
    // Every type of the paper occurs somewhere; grading only on RetinaMNIST.
    const seen = new Set(SUBSET_NAMES.flatMap((s) => Object.keys(questionMix(s))));
    expect([...seen].sort()).toEqual([
      'anatomy',
      'diagnosis',
      'grading',
      'modality',
      'other',
      'tissue',
    ]);
    expect(SUBSET_NAMES.filter((s) => questionMix(s).grading)).toEqual(['retinamnist']);
  });
});

describe('templates', () => {
  const ask = (subset: SubsetName, label: number, type: QuestionType, n = 3000): VqaSample[] => {
    const a = labelArrays(subset, n, 2, 8);
    a.labels.fill(label);
    return arraysToVqa(subset, a, 5).filter((s) => s.questionType === type);
  };

  it('produces the paper examples', () => {
    const blood = ask('bloodmnist', 4, 'tissue');
    expect(blood.map((s) => s.question)).toContain('What type of blood cell is seen in the image?');
    expect(new Set(blood.map((s) => s.answer))).toEqual(new Set(['lymphocyte']));
    const ct = ask('organsmnist', 3, 'other');
    expect(ct.map((s) => s.question)).toContain('What view of CT scan is seen?');
    expect(new Set(ct.map((s) => s.answer))).toEqual(new Set(['sagittal']));
    const dr = ask('retinamnist', 0, 'grading', 20_000);
    expect(dr.map((s) => s.question)).toContain('What is the grade of diabetic retinopathy?');
    expect(new Set(dr.map((s) => s.answer))).toEqual(new Set(['grade 0']));
    const tum = ask('pathmnist', 8, 'diagnosis').filter(
      (s) => s.question === 'Does this image show malignancy?',
    );
    expect(tum.length).toBeGreaterThan(0);
    expect(new Set(tum.map((s) => s.answer))).toEqual(new Set(['yes']));
    const adi = ask('pathmnist', 0, 'diagnosis');
    expect(new Set(adi.map((s) => s.answer))).toEqual(new Set(['no']));
  });

  it('has several phrasings per type, and answers follow the label', () => {
    for (const s of SUBSET_NAMES) {
      const samples = arraysToVqa(s, labelArrays(s, 4000, 3, 8), 9);
      for (const t of Object.keys(questionMix(s)) as QuestionType[]) {
        if (t === 'grading') continue; // 1% of questions: covered above
        const qs = new Set(samples.filter((x) => x.questionType === t).map((x) => x.question));
        expect(qs.size, `${s}/${t}`).toBeGreaterThanOrEqual(2);
      }
      const info = SUBSETS[s];
      if (info.task !== 'multi-label') {
        const a = labelArrays(s, 1500, 4, 8);
        const out = arraysToVqa(s, a, 1);
        let checked = 0;
        out.forEach((x, i) => {
          if (x.questionType === 'modality') expect(x.answer).toBe(info.modality);
          const classQuestion =
            info.answers.includes(x.answer) &&
            x.questionType !== 'modality' &&
            (x.questionType !== 'anatomy' || info.view !== undefined);
          if (classQuestion) {
            expect(x.answer, `${s} sample ${i}`).toBe(info.answers[a.labels[i]]);
            checked++;
          }
        });
        expect(checked, s).toBeGreaterThanOrEqual(5);
      }
    }
  });

  it('ChestMNIST multi-label questions have a single right answer', () => {
    const a = labelArrays('chestmnist', 3000, 6, 8);
    const answers = SUBSETS.chestmnist.answers;
    const out = arraysToVqa('chestmnist', a, 2);
    let yesNo = 0;
    out.forEach((x, i) => {
      const row = Array.from(a.labels.subarray(i * 14, (i + 1) * 14));
      const present = row.flatMap((v, j) => (v ? [answers[j]] : []));
      if (x.questionType !== 'diagnosis') {
        if (x.questionType === 'other') expect(x.answer).toBe(present.length === 0 ? 'yes' : 'no');
        return;
      }
      if (present.length === 0) expect(x.answer).toBe('no finding');
      else if (present.length === 1) expect(x.answer).toBe(present[0]);
      else {
        const named = answers.filter(
          (f) => x.question.includes(` ${f} `) || x.question.endsWith(` ${f}?`),
        );
        expect(named.length, x.question).toBe(1);
        expect(x.answer).toBe(present.includes(named[0]) ? 'yes' : 'no');
        yesNo++;
      }
    });
    expect(yesNo).toBeGreaterThan(50);
  });

  it('keeps image bytes and order, and every template answer is in the vocabulary', () => {
    const a = labelArrays('dermamnist', 20, 7);
    const out = arraysToVqa('dermamnist', a, 3);
    const P = 28 * 28 * 3;
    out.forEach((x, i) =>
      expect(Array.from(x.image)).toEqual(Array.from(a.images.subarray(i * P, (i + 1) * P))),
    );
    const vocab = new Set(answerVocabulary());
    for (const s of SUBSET_NAMES)
      for (const t of templatesOf(s))
        for (const ans of t.answers) expect(vocab.has(ans)).toBe(true);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = labelArrays('pathmnist', 300, 8, 8);
    const q = (seed: number): string =>
      arraysToVqa('pathmnist', a, seed)
        .map((x) => x.question)
        .join('|');
    expect(q(1)).toBe(q(1));
    expect(q(1)).not.toBe(q(2));
  });

  it('rejects arrays that do not fit the subset', () => {
    const a = labelArrays('octmnist', 5, 1, 8);
    expect(() => arraysToVqa('bloodmnist', a, 1)).toThrow(/channel/);
    expect(() => arraysToVqa('octmnist', { ...a, count: 6 }, 1)).toThrow(/images hold/);
  });
});

describe('client assembly, split and baselines', () => {
  it('splits 80/20, disjoint and complete, seeded', () => {
    const samples = arraysToVqa('bloodmnist', labelArrays('bloodmnist', 101, 1, 8), 1);
    const { train, test } = splitTrainTest(samples, 4);
    expect(test.length).toBe(20);
    expect(train.length).toBe(81);
    expect(new Set([...train, ...test]).size).toBe(101);
    expect(splitTrainTest(samples, 4).test).toEqual(test);
    expect(splitTrainTest(samples, 5).test).not.toEqual(test);
    expect(() => splitTrainTest(samples, 1, 1)).toThrow(/testFraction/);
  });

  it('builds a multi-subset client and checks its inputs', () => {
    const d = clientFromArrays(
      'abdominal_ct',
      {
        organamnist: [labelArrays('organamnist', 30, 1, 8)],
        organcmnist: [labelArrays('organcmnist', 20, 2, 8)],
        organsmnist: [labelArrays('organsmnist', 10, 3, 8), labelArrays('organsmnist', 10, 4, 8)],
      },
      { seed: 1 },
    );
    expect(d.train.length + d.test.length).toBe(70);
    const views = new Set(
      [...d.train, ...d.test].filter((s) => s.question.includes('view')).map((s) => s.answer),
    );
    expect([...views].every((v) => ['axial', 'coronal', 'sagittal'].includes(v))).toBe(true);
    // A partial client (one of three subsets) is a valid client; none at all is not.
    const partial = clientFromArrays(
      'abdominal_ct',
      { organamnist: [labelArrays('organamnist', 3, 1)] },
      { seed: 1 },
    );
    expect(partial.train.length + partial.test.length).toBe(3);
    expect(() => clientFromArrays('abdominal_ct', { organcmnist: [] }, { seed: 1 })).toThrow(
      /no images for any of its subsets \(organamnist, organcmnist, organsmnist\)/,
    );
    expect(() =>
      clientFromArrays(
        'chest_xray',
        {
          chestmnist: [labelArrays('chestmnist', 3, 1, 28)],
          pneumoniamnist: [labelArrays('pneumoniamnist', 3, 1, 64)],
        },
        { seed: 1 },
      ),
    ).toThrow(/64px images, others 28px/);
    expect(() =>
      clientFromArrays(
        'fundus',
        { retinamnist: [labelArrays('retinamnist', 3, 1)], octmnist: [] },
        { seed: 1 },
      ),
    ).toThrow(/octmnist does not belong/);
  });

  it('majority baselines count correctly', () => {
    const mk = (question: string, answer: string): VqaSample => ({
      image: new Uint8Array(1),
      size: 1,
      channels: 1,
      question,
      answer,
      questionType: 'other',
    });
    const train = [mk('a', 'yes'), mk('a', 'yes'), mk('b', 'no'), mk('b', 'no'), mk('b', 'no')];
    const test = [mk('a', 'yes'), mk('b', 'no'), mk('b', 'yes'), mk('c', 'no')];
    const b = majorityBaseline(train, test);
    expect(b.answer).toBe('no');
    expect(b.accuracy).toBe(0.5);
    expect(b.questionPriorAccuracy).toBe(0.75);
    expect(() => majorityBaseline([])).toThrow(/empty/);
  });
});
