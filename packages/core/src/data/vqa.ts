// MedMNIST-format arrays -> Ultra-MedVQA triplets (docs/method.md §5): one question per image,
// its type drawn from the paper's mix (renormalised over the types a subset supports), then
// one of several templates and phrasings of that type. Answers are lowercase and always in
// `answerVocabulary()`.

import { mulberry32, shuffleInPlace } from '../random.js';
import {
  SUBSETS,
  SUBSET_NAMES,
  clientInfo,
  labelWidth,
  subsetInfo,
  type ClientName,
  type SubsetInfo,
  type SubsetName,
} from './medmnist.js';
import type { ClientData, MedMnistArrays, QuestionType, VqaSample } from './types.js';
import { QUESTION_TYPES } from './types.js';

/** Question-type mix of Ultra-MedVQA (docs/method.md §5). */
export const QUESTION_MIX: Readonly<Record<QuestionType, number>> = {
  diagnosis: 0.39,
  anatomy: 0.2,
  tissue: 0.2,
  modality: 0.1,
  other: 0.1,
  grading: 0.01,
};

interface QA {
  question: string;
  answer: string;
}

/** A question template: `make` sees the image's label row (labelWidth entries). */
export interface Template {
  type: QuestionType;
  /** Every answer `make` can return (feeds the global vocabulary). */
  answers: readonly string[];
  make(label: Uint8Array, rand: () => number): QA;
}

const pick = <T>(xs: readonly T[], rand: () => number): T => xs[Math.floor(rand() * xs.length)];
const YES_NO = ['yes', 'no'] as const;
const yn = (b: boolean): string => (b ? 'yes' : 'no');

const MODALITY_Q = [
  'What modality is used to take this image?',
  'What imaging modality is shown?',
  'Which imaging technique produced this image?',
  'How was this image acquired?',
];
const ANATOMY_Q = [
  'Which organ is shown in this image?',
  'What part of the body is imaged?',
  'Which body part does this image show?',
];

/** A categorical question whose answer is the class answer (multi-class subsets). */
function classTemplate(type: QuestionType, info: SubsetInfo, phrasings: string[]): Template {
  return {
    type,
    answers: info.answers,
    make: (label, rand) => ({ question: pick(phrasings, rand), answer: info.answers[label[0]] }),
  };
}

/** A yes/no question about a property of the class. */
function yesNoTemplate(
  type: QuestionType,
  phrasings: string[],
  holds: (cls: number) => boolean,
): Template {
  return {
    type,
    answers: YES_NO,
    make: (label, rand) => ({ question: pick(phrasings, rand), answer: yn(holds(label[0])) }),
  };
}

function constTemplate(type: QuestionType, answer: string, phrasings: string[]): Template {
  return {
    type,
    answers: [answer],
    make: (_l, rand) => ({ question: pick(phrasings, rand), answer }),
  };
}

const CHEST_FINDING_Q = [
  'What abnormality is seen in this chest X-ray?',
  'What is the main finding in this image?',
  'Which finding does this chest radiograph show?',
];

/**
 * ChestMNIST is multi-label (N x 14). With zero or one finding the categorical question is
 * unambiguous ("no finding" / the finding); with several it becomes a yes/no question about
 * one finding, present or absent with equal odds, so every triplet has a single right answer.
 */
function chestDiagnosis(info: SubsetInfo): Template {
  return {
    type: 'diagnosis',
    answers: [...info.answers, 'no finding', ...YES_NO],
    make: (label, rand) => {
      const present: number[] = [];
      const absent: number[] = [];
      label.forEach((v, i) => (v ? present : absent).push(i));
      if (present.length === 0)
        return { question: pick(CHEST_FINDING_Q, rand), answer: 'no finding' };
      if (present.length === 1) {
        return { question: pick(CHEST_FINDING_Q, rand), answer: info.answers[present[0]] };
      }
      const askPresent = absent.length === 0 || rand() < 0.5;
      const i = pick(askPresent ? present : absent, rand);
      const q = pick(['Is there {x} in this image?', 'Does this chest X-ray show {x}?'], rand);
      return { question: q.replace('{x}', info.answers[i]), answer: yn(askPresent) };
    },
  };
}

function commonTemplates(info: SubsetInfo): Template[] {
  return [
    constTemplate('modality', info.modality, MODALITY_Q),
    ...(info.view ? [] : [constTemplate('anatomy', info.anatomy, ANATOMY_Q)]),
  ];
}

function subsetTemplates(subset: SubsetName): Template[] {
  const info = SUBSETS[subset];
  const own: Template[] = (() => {
    switch (subset) {
      case 'chestmnist':
        return [
          chestDiagnosis(info),
          {
            type: 'other',
            answers: YES_NO,
            make: (label, rand) => ({
              question: pick(
                ['Is this chest X-ray normal?', 'Does this X-ray look healthy?'],
                rand,
              ),
              answer: yn(label.every((v) => v === 0)),
            }),
          },
        ];
      case 'pneumoniamnist':
        return [
          classTemplate('diagnosis', info, [
            'What is the diagnosis?',
            'What does this chest X-ray show?',
            'Is this lung normal or does it show pneumonia?',
          ]),
          yesNoTemplate(
            'other',
            ['Does this image show pneumonia?', 'Is there pneumonia in the lungs?'],
            (c) => c === 1,
          ),
        ];
      case 'octmnist':
        return [
          classTemplate('diagnosis', info, [
            'What disease is shown in this OCT scan?',
            'What is the diagnosis of this retina?',
            'Which retinal condition is seen?',
          ]),
          yesNoTemplate(
            'other',
            ['Is this retina normal?', 'Does this OCT look healthy?'],
            (c) => c === 3,
          ),
        ];
      case 'pathmnist':
        return [
          classTemplate('tissue', info, [
            'What type of tissue is shown?',
            'Which tissue class is seen in this patch?',
            'What tissue does this histology image contain?',
          ]),
          // Only the adenocarcinoma epithelium (TUM in NCT-CRC-HE) is the malignant cell class.
          yesNoTemplate(
            'diagnosis',
            ['Does this image show malignancy?', 'Are malignant cells present?'],
            (c) => c === 8,
          ),
          // Tumour tissue = tumour epithelium or cancer-associated stroma.
          yesNoTemplate(
            'other',
            ['Is this tissue part of a tumour?', 'Does this patch come from tumour tissue?'],
            (c) => c === 7 || c === 8,
          ),
        ];
      case 'dermamnist':
        return [
          classTemplate('diagnosis', info, [
            'What skin lesion is this?',
            'What is the diagnosis of this lesion?',
            'Which type of skin lesion is seen?',
          ]),
          // Malignant or in-situ carcinoma classes of HAM10000: akiec, bcc, mel.
          yesNoTemplate(
            'other',
            ['Is this lesion malignant?', 'Does this image show malignancy?'],
            (c) => c === 0 || c === 1 || c === 4,
          ),
        ];
      case 'retinamnist':
        return [
          classTemplate('grading', info, [
            'What is the grade of diabetic retinopathy?',
            'How severe is the diabetic retinopathy?',
            'What grade of retinopathy is seen?',
          ]),
          yesNoTemplate(
            'diagnosis',
            ['Does this fundus image show diabetic retinopathy?', 'Is there diabetic retinopathy?'],
            (c) => c > 0,
          ),
          yesNoTemplate(
            'other',
            ['Is the retinopathy severe?', 'Is this advanced retinopathy?'],
            (c) => c >= 3,
          ),
        ];
      case 'breastmnist':
        return [
          classTemplate('diagnosis', info, [
            'Is this breast lesion malignant or benign?',
            'What is the nature of the breast finding?',
          ]),
          yesNoTemplate(
            'diagnosis',
            ['Does this image show malignancy?', 'Is there a malignant tumour?'],
            (c) => c === 0,
          ),
        ];
      case 'bloodmnist':
        return [
          classTemplate('tissue', info, [
            'What type of blood cell is seen in the image?',
            'Which cell type is shown?',
            'What is the cell in the centre of this smear?',
          ]),
          yesNoTemplate(
            'other',
            ['Is this cell a granulocyte?', 'Does this cell belong to the granulocytes?'],
            (c) => c === 0 || c === 1 || c === 3 || c === 6,
          ),
        ];
      case 'tissuemnist':
        return [
          classTemplate('tissue', info, [
            'What kidney structure is shown?',
            'Which cell type of the kidney cortex is seen?',
            'What tissue is in this microscope image?',
          ]),
          yesNoTemplate(
            'other',
            ['Is this an endothelial cell?', 'Does this image show endothelium?'],
            (c) => c === 2 || c === 3,
          ),
        ];
      case 'organamnist':
      case 'organcmnist':
      case 'organsmnist':
        return [
          classTemplate('anatomy', info, [
            'Which organ is shown in this CT image?',
            'What organ is in the centre of this slice?',
            'Which abdominal organ is seen?',
          ]),
          constTemplate('other', info.view as string, [
            'What view of CT scan is seen?',
            'In which plane was this CT slice taken?',
          ]),
        ];
    }
  })();
  return [...own, ...commonTemplates(info)];
}

const TEMPLATES: Record<SubsetName, Template[]> = Object.fromEntries(
  SUBSET_NAMES.map((s) => [s, subsetTemplates(s)]),
) as Record<SubsetName, Template[]>;

/** Templates of one subset (read-only view; for tests and docs). */
export function templatesOf(subset: SubsetName): readonly Template[] {
  return TEMPLATES[subset];
}

/** The type mix of a subset: QUESTION_MIX renormalised over the types it supports. */
export function questionMix(subset: SubsetName): Partial<Record<QuestionType, number>> {
  const types = new Set(TEMPLATES[subset].map((t) => t.type));
  const total = QUESTION_TYPES.filter((t) => types.has(t)).reduce((a, t) => a + QUESTION_MIX[t], 0);
  const mix: Partial<Record<QuestionType, number>> = {};
  for (const t of QUESTION_TYPES) if (types.has(t)) mix[t] = QUESTION_MIX[t] / total;
  return mix;
}

let vocabulary: readonly string[] | undefined;

/** Global sorted answer list over all clients (the model's output classes). */
export function answerVocabulary(): string[] {
  if (!vocabulary) {
    const all = new Set<string>();
    for (const s of SUBSET_NAMES)
      for (const t of TEMPLATES[s]) for (const a of t.answers) all.add(a);
    vocabulary = [...all].sort();
  }
  return [...vocabulary];
}

/** Checks a MedMNIST-format split against its subset; throws naming the bad field. */
export function validateArrays(subset: SubsetName, a: MedMnistArrays, what: string = subset): void {
  const info = subsetInfo(subset);
  const width = labelWidth(subset);
  if (a.channels !== info.channels) {
    throw new Error(
      `${what}: images have ${a.channels} channel(s), ${subset} has ${info.channels}`,
    );
  }
  if (a.labelWidth !== width) {
    throw new Error(`${what}: labels have ${a.labelWidth} column(s), ${subset} needs ${width}`);
  }
  if (a.images.length !== a.count * a.size * a.size * a.channels) {
    throw new Error(
      `${what}: images hold ${a.images.length} bytes, expected ${a.count}x${a.size}x${a.size}x${a.channels}`,
    );
  }
  if (a.labels.length !== a.count * width) {
    throw new Error(`${what}: labels hold ${a.labels.length} values, expected ${a.count}x${width}`);
  }
  const max = info.task === 'multi-label' ? 1 : info.labels.length - 1;
  for (let i = 0; i < a.labels.length; i++) {
    if (a.labels[i] > max) {
      throw new Error(
        `${what}: label ${a.labels[i]} at row ${Math.floor(i / width)} exceeds ${max}`,
      );
    }
  }
}

/** One triplet per image of a MedMNIST-format split, seeded. */
export function arraysToVqa(subset: SubsetName, arrays: MedMnistArrays, seed: number): VqaSample[] {
  validateArrays(subset, arrays);
  const rand = mulberry32(seed);
  const mix = questionMix(subset);
  const types = Object.keys(mix) as QuestionType[];
  const cum: number[] = [];
  let acc = 0;
  for (const t of types) cum.push((acc += mix[t] as number));
  const byType = new Map(types.map((t) => [t, TEMPLATES[subset].filter((x) => x.type === t)]));
  const pixels = arrays.size * arrays.size * arrays.channels;
  const width = arrays.labelWidth;
  const out: VqaSample[] = [];
  for (let i = 0; i < arrays.count; i++) {
    const u = rand();
    let k = cum.findIndex((c) => u < c);
    if (k < 0) k = types.length - 1;
    const type = types[k];
    const template = pick(byType.get(type) as Template[], rand);
    const { question, answer } = template.make(
      arrays.labels.subarray(i * width, (i + 1) * width),
      rand,
    );
    out.push({
      image: arrays.images.slice(i * pixels, (i + 1) * pixels),
      size: arrays.size,
      channels: arrays.channels,
      question,
      answer,
      questionType: type,
    });
  }
  return out;
}

/** Seeded random split; `testFraction` of the samples go to test (docs/method.md §5: 80/20). */
export function splitTrainTest(samples: VqaSample[], seed: number, testFraction = 0.2): ClientData {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new Error(`testFraction must be in [0, 1), got ${testFraction}`);
  }
  const shuffled = shuffleInPlace([...samples], mulberry32(seed));
  const nTest = Math.round(shuffled.length * testFraction);
  return { test: shuffled.slice(0, nTest), train: shuffled.slice(nTest) };
}

/** Stable 32-bit hash of a string (FNV-1a), to derive per-subset seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The subsets of `client` that `arrays` holds data for, in the client's order. Sites hold what
 * the hospital has: any non-empty subset of the client's MedMNIST sources is a valid client.
 */
export function presentSubsets(
  client: ClientName,
  arrays: Partial<Record<SubsetName, readonly MedMnistArrays[]>>,
): SubsetName[] {
  const info = clientInfo(client);
  for (const s of Object.keys(arrays)) {
    if (!info.subsets.includes(s as SubsetName)) {
      throw new Error(`client ${client}: subset ${s} does not belong to it`);
    }
  }
  return info.subsets.filter((s) => (arrays[s] ?? []).some((a) => a.count > 0));
}

/**
 * The question-type mix a client's triplets follow when it holds `counts[s]` images of each
 * present subset: each subset's own mix (the paper mix renormalised over the types it supports,
 * docs/method.md §5) weighted by its share of the images. Absent subsets weigh nothing, so a
 * chest_xray site with only PneumoniaMNIST gets exactly PneumoniaMNIST's mix.
 */
export function clientQuestionMix(
  client: ClientName,
  counts: Partial<Record<SubsetName, number>>,
): Partial<Record<QuestionType, number>> {
  const info = clientInfo(client);
  const total = info.subsets.reduce((a, s) => a + (counts[s] ?? 0), 0);
  if (total <= 0) throw new Error(`client ${client}: no images in any of its subsets`);
  const mix: Partial<Record<QuestionType, number>> = {};
  for (const s of info.subsets) {
    const w = (counts[s] ?? 0) / total;
    if (w === 0) continue;
    for (const [t, p] of Object.entries(questionMix(s)) as [QuestionType, number][]) {
      mix[t] = (mix[t] ?? 0) + w * p;
    }
  }
  return mix;
}

/**
 * A client's triplets from the arrays of the subsets it holds (all MedMNIST splits pooled),
 * shuffled and split 80/20 (docs/method.md §5). Any non-empty subset of the client's subsets is
 * accepted (see `presentSubsets`); all arrays must share one image size (`resizeArrays`).
 */
export function clientFromArrays(
  client: ClientName,
  arrays: Partial<Record<SubsetName, MedMnistArrays[]>>,
  opts: { seed: number; testFraction?: number },
): ClientData {
  const info = clientInfo(client);
  const present = presentSubsets(client, arrays);
  if (present.length === 0) {
    throw new Error(
      `client ${client}: no images for any of its subsets (${info.subsets.join(', ')}); give at least one`,
    );
  }
  const samples: VqaSample[] = [];
  let size: number | undefined;
  for (const subset of present) {
    (arrays[subset] ?? []).forEach((part, j) => {
      if (size !== undefined && part.size !== size) {
        throw new Error(`client ${client}: ${subset} has ${part.size}px images, others ${size}px`);
      }
      size = part.size;
      samples.push(...arraysToVqa(subset, part, (opts.seed ^ hashString(`${subset}#${j}`)) >>> 0));
    });
  }
  return splitTrainTest(samples, opts.seed, opts.testFraction ?? 0.2);
}

export interface MajorityBaseline {
  /** Most frequent answer in `train`. */
  answer: string;
  /** Accuracy of always answering `answer` on `test`. */
  accuracy: number;
  /** Accuracy of answering, per exact question text, the most frequent train answer to it
   * (a text-only prior; falls back to `answer` for unseen questions). */
  questionPriorAccuracy: number;
}

function argmaxCount(counts: Map<string, number>): string {
  let best = '';
  let bestN = -1;
  for (const [k, n] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (n > bestN) [best, bestN] = [k, n];
  }
  return best;
}

/** Majority-answer baselines (docs/method.md §7: every learning claim is compared to them). */
export function majorityBaseline(train: VqaSample[], test: VqaSample[] = train): MajorityBaseline {
  if (train.length === 0) throw new Error('majorityBaseline: train is empty');
  const counts = new Map<string, number>();
  const perQ = new Map<string, Map<string, number>>();
  for (const s of train) {
    counts.set(s.answer, (counts.get(s.answer) ?? 0) + 1);
    const m = perQ.get(s.question) ?? new Map<string, number>();
    m.set(s.answer, (m.get(s.answer) ?? 0) + 1);
    perQ.set(s.question, m);
  }
  const answer = argmaxCount(counts);
  const prior = new Map([...perQ].map(([q, m]) => [q, argmaxCount(m)]));
  const n = Math.max(1, test.length);
  const accuracy = test.filter((s) => s.answer === answer).length / n;
  const questionPriorAccuracy =
    test.filter((s) => s.answer === (prior.get(s.question) ?? answer)).length / n;
  return { answer, accuracy, questionPriorAccuracy };
}
