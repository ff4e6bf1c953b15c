// Partial sites (a client holding only some of its MedMNIST subsets) and MedMNIST+ resizing.
import { describe, expect, it } from 'vitest';
import {
  CLIENTS,
  CLIENT_NAMES,
  SUBSETS,
  clientFromMedMnistFiles,
  clientQuestionMix,
  groupMedMnistFilesByClient,
  labelWidth,
  questionMix,
  resizeAreaSquare,
  resizeArrays,
  writeMedMnistNpz,
  type MedMnistArrays,
  type QuestionType,
  type SubsetName,
} from '../src/data/index.js';
import { mulberry32 } from '../src/random.js';

/** Random labels and pixels in MedMNIST layout (cheap: no synthetic rendering). */
function arrays(subset: SubsetName, n: number, seed: number, size = 28): MedMnistArrays {
  const info = SUBSETS[subset];
  const w = labelWidth(subset);
  const rand = mulberry32(seed);
  const labels = new Uint8Array(n * w);
  for (let i = 0; i < n * w; i++)
    labels[i] = w > 1 ? (rand() < 0.2 ? 1 : 0) : Math.floor(rand() * info.labels.length);
  const images = Uint8Array.from({ length: n * size * size * info.channels }, () =>
    Math.floor(rand() * 256),
  );
  return { images, labels, count: n, size, channels: info.channels, labelWidth: w };
}

const npz = (subset: SubsetName, n: number, size = 28): Uint8Array =>
  writeMedMnistNpz({
    train: arrays(subset, n, 1, size),
    val: arrays(subset, 2, 2, size),
    test: arrays(subset, 3, 3, size),
  });

describe('partial clients', () => {
  // Every client, once per subset it groups, holding only that subset.
  const cases = CLIENT_NAMES.flatMap((c) => CLIENTS[c].subsets.map((s) => [c, s] as const));

  it.each(cases)('%s with only %s imports', (client, subset) => {
    const d = clientFromMedMnistFiles(client, [{ name: `${subset}.npz`, bytes: npz(subset, 10) }], {
      seed: 3,
    });
    expect(d.train.length + d.test.length).toBe(15);
    expect(d.subsets).toEqual([subset]);
    expect(d.missing).toEqual(CLIENTS[client].subsets.filter((s) => s !== subset));
    // Every question is one the present subset asks.
    const types = new Set(Object.keys(questionMix(subset)));
    expect([...d.train, ...d.test].every((s) => types.has(s.questionType))).toBe(true);
  });

  it('two of three abdominal CT planes import, and say which are missing', () => {
    const d = clientFromMedMnistFiles(
      'abdominal_ct',
      [
        { name: 'organamnist.npz', bytes: npz('organamnist', 6) },
        { name: 'organsmnist.npz', bytes: npz('organsmnist', 4) },
      ],
      { seed: 1 },
    );
    expect(d.subsets).toEqual(['organamnist', 'organsmnist']);
    expect(d.missing).toEqual(['organcmnist']);
    const views = new Set(
      [...d.train, ...d.test].filter((s) => s.question.includes('view')).map((s) => s.answer),
    );
    expect(views.has('coronal')).toBe(false);
  });

  it('the client mix renormalises over what is present, and the triplets follow it', () => {
    // Only PneumoniaMNIST: the chest_xray mix is exactly pneumoniamnist's.
    expect(clientQuestionMix('chest_xray', { pneumoniamnist: 5 })).toEqual(
      questionMix('pneumoniamnist'),
    );
    const mix = clientQuestionMix('chest_xray', { chestmnist: 3000, pneumoniamnist: 1000 });
    const sum = Object.values(mix).reduce((a, b) => a + (b as number), 0);
    expect(sum).toBeCloseTo(1, 12);
    for (const t of Object.keys(mix) as QuestionType[]) {
      const want =
        0.75 * (questionMix('chestmnist')[t] ?? 0) + 0.25 * (questionMix('pneumoniamnist')[t] ?? 0);
      expect(mix[t]).toBeCloseTo(want, 12);
    }
    // Empirical type frequencies of a one-subset site match its mix (4 binomial sigmas).
    const n = 4000;
    const d = clientFromMedMnistFiles(
      'chest_xray',
      [{ name: 'pneumoniamnist.npz', bytes: npz('pneumoniamnist', n - 5) }],
      { seed: 9 },
    );
    const all = [...d.train, ...d.test];
    const expected = clientQuestionMix('chest_xray', { pneumoniamnist: all.length });
    for (const [t, p] of Object.entries(expected) as [QuestionType, number][]) {
      const got = all.filter((s) => s.questionType === t).length / all.length;
      expect(Math.abs(got - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / all.length));
    }
    expect(() => clientQuestionMix('chest_xray', {})).toThrow(/no images/);
  });

  it('names what is wrong: no files, or a file of another client', () => {
    expect(() => clientFromMedMnistFiles('chest_xray', [], { seed: 1 })).toThrow(
      /chest_xray: no MedMNIST files given; expected any of chestmnist\.npz, pneumoniamnist\.npz/,
    );
    expect(() =>
      clientFromMedMnistFiles('chest_xray', [{ name: 'octmnist.npz', bytes: npz('octmnist', 3) }], {
        seed: 1,
      }),
    ).toThrow(/belongs to client oct, not chest_xray/);
  });

  it('groups a folder of MedMNIST files by client', () => {
    const g = groupMedMnistFilesByClient([
      'pneumoniamnist.npz',
      'organcmnist_64.npz',
      'notes.txt',
      'octmnist.npz',
    ]);
    expect(g.byClient).toEqual({
      chest_xray: ['pneumoniamnist.npz'],
      abdominal_ct: ['organcmnist_64.npz'],
      oct: ['octmnist.npz'],
    });
    expect(g.unknown).toEqual(['notes.txt']);
  });
});

describe('MedMNIST+ resizing on import', () => {
  it('an integer factor is the exact block mean (brute force)', () => {
    const rand = mulberry32(5);
    for (const [from, to, ch] of [
      [64, 28, 1],
      [56, 28, 3],
      [224, 28, 1],
      [128, 32, 3],
    ] as const) {
      const src = Uint8Array.from({ length: from * from * ch }, () => Math.floor(rand() * 256));
      const got = resizeAreaSquare(src, from, to, ch);
      if (from % to === 0) {
        const k = from / to;
        for (let y = 0; y < to; y++)
          for (let x = 0; x < to; x++)
            for (let c = 0; c < ch; c++) {
              let s = 0;
              for (let dy = 0; dy < k; dy++)
                for (let dx = 0; dx < k; dx++)
                  s += src[((y * k + dy) * from + x * k + dx) * ch + c];
              expect(Math.abs(got[(y * to + x) * ch + c] - s / (k * k))).toBeLessThanOrEqual(0.5);
            }
      } else {
        // Non-integer factor (64 -> 28): the mean brightness is kept.
        const mean = (a: Uint8Array) => a.reduce((p, v) => p + v, 0) / a.length;
        expect(Math.abs(mean(got) - mean(src))).toBeLessThan(1);
      }
    }
  });

  it('keeps a constant image constant and a same-size image unchanged', () => {
    const flat = new Uint8Array(64 * 64).fill(77);
    expect(resizeAreaSquare(flat, 64, 28, 1).every((v) => v === 77)).toBe(true);
    const src = Uint8Array.from({ length: 28 * 28 }, (_, i) => i & 255);
    expect([...resizeAreaSquare(src, 28, 28, 1)]).toEqual([...src]);
    expect(() => resizeAreaSquare(src, 27, 14, 1)).toThrow(/is not 27x27x1/);
  });

  it('a 64 px file imports at the model side, and mixes with a 28 px file', () => {
    const a = resizeArrays(arrays('octmnist', 2, 4, 64), 28);
    expect(a.size).toBe(28);
    expect(a.images.length).toBe(2 * 28 * 28);
    const d = clientFromMedMnistFiles(
      'chest_xray',
      [
        { name: 'chestmnist_64.npz', bytes: npz('chestmnist', 4, 64) },
        { name: 'pneumoniamnist.npz', bytes: npz('pneumoniamnist', 4, 28) },
      ],
      { seed: 2, size: 28 },
    );
    expect([...d.train, ...d.test].every((s) => s.size === 28 && s.image.length === 784)).toBe(
      true,
    );
    expect(d.subsets).toEqual(['chestmnist', 'pneumoniamnist']);
  });
});
