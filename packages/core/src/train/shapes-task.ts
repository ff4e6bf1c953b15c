// Generic, non-medical synthetic image-question task for pretraining the bases (tiny, small):
// shapes, colours, counts, absolute and relative positions, sizes, and line / blob / checker
// textures, in grey (1 channel) and colour (RGB) 28 x 28 images. The texture scenes make the
// patch embedding learn local structure (oriented edges, blobs, periodic patterns) of the kind
// X-ray, CT, microscopy and fundus images are built from; the object scenes make the blocks
// bind what the question asks to where it is in the image. Federated fine-tuning then adapts
// this general model to the (synthetic) medical clients, as the paper adapts a pretrained ViLT.
// Seeded: the same seed gives the same samples on every platform.
import { mulberry32, shuffleInPlace } from '../random.js';
import type { SampleLike } from '../model/batch.js';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export const COLOURS: Record<string, [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 200, 60],
  blue: [50, 80, 230],
  yellow: [230, 220, 50],
  white: [235, 235, 235],
  purple: [150, 60, 200],
};
export const COUNT_WORDS = ['one', 'two', 'three', 'four'] as const;
export const CORNERS = ['top left', 'top right', 'bottom left', 'bottom right'] as const;
export const SIZES = ['small', 'large'] as const;
/** Where the first named object is relative to the second. */
export const RELATIONS = ['left', 'right', 'above', 'below'] as const;
export const PATTERNS = [
  'horizontal lines',
  'vertical lines',
  'diagonal lines',
  'checkerboard',
  'blobs',
  'gradient',
] as const;

/** The task's answer classes (head outputs of the pretrained base); the first 20 are those of
 * the first version of the task, in the same order. */
export const SHAPES_ANSWERS: readonly string[] = [
  ...SHAPES,
  ...Object.keys(COLOURS),
  ...COUNT_WORDS,
  ...CORNERS,
  'yes',
  'no',
  ...SIZES,
  ...RELATIONS,
  ...PATTERNS,
];

export const SHAPES_QUESTION_TYPES = [
  'shape',
  'colour',
  'count',
  'position',
  'relation',
  'size',
  'pattern',
  'yesno',
] as const;
/**
 * Stepping-stone types (pretraining only, asked when a source gives them weight): they put the
 * attribute words the relation and yes/no questions name into questions with many-way answers,
 * in scenes of several objects that differ in the named attribute. "where is the red shape?"
 * (a corner) binds a colour word to a place, as relation must twice; "what colour is the shape
 * in the top left?" binds a place to an attribute, as yes/no must to compare it with a word.
 * Without them those words are trained only by the binary yes/no answers and relation.
 */
export const BINDING_QUESTION_TYPES = ['find', 'attribute'] as const;
export const PRETRAIN_QUESTION_TYPES = [
  ...SHAPES_QUESTION_TYPES,
  ...BINDING_QUESTION_TYPES,
] as const;
export type ShapesQuestionType = (typeof PRETRAIN_QUESTION_TYPES)[number];

/** The answers each question type can have (its chance level is 1 / their number). */
export const SHAPES_TYPE_ANSWERS: Readonly<Record<ShapesQuestionType, readonly string[]>> = {
  shape: SHAPES,
  colour: Object.keys(COLOURS),
  count: COUNT_WORDS,
  position: CORNERS,
  relation: RELATIONS,
  size: SIZES,
  pattern: PATTERNS,
  yesno: ['yes', 'no'],
  find: CORNERS,
  attribute: [...SHAPES, ...Object.keys(COLOURS)],
};

const TEMPLATES: Record<
  Exclude<ShapesQuestionType, 'yesno' | 'relation' | 'find' | 'attribute'>,
  string[]
> = {
  shape: ['what shape is shown?', 'which shape can you see?', 'what is the shape of the objects?'],
  colour: ['what colour is the shape?', 'what color are the objects?', 'which colour is shown?'],
  count: ['how many shapes are there?', 'how many objects can you see?', 'count the shapes.'],
  position: [
    'where is the shape?',
    'in which corner is the object?',
    'where is the object located?',
  ],
  size: ['how big are the shapes?', 'what size are the objects?', 'are the shapes small or large?'],
  pattern: [
    'what pattern is shown?',
    'which texture does the image have?',
    'what kind of pattern is this?',
  ],
};
const RELATION_TEMPLATES = [
  (a: string, b: string) => `where is the ${a} shape relative to the ${b} shape?`,
  (a: string, b: string) => `where is the ${a} object compared to the ${b} one?`,
];

const FIND_COLOUR = (colour: string) => `where is the ${colour} shape?`;
const FIND_SHAPE = (shape: string) => `where is the ${shape}?`;
const COLOUR_AT = (corner: string) => `what colour is the shape in the ${corner}?`;
const SHAPE_AT = (corner: string) => `what shape is in the ${corner}?`;

/** Every question text the task can ask (the word-table rows pretraining trains). */
export function shapesQuestionTexts(): string[] {
  const colours = Object.keys(COLOURS);
  const out = Object.values(TEMPLATES).flat();
  for (const t of RELATION_TEMPLATES)
    for (const a of colours) for (const b of colours) if (a !== b) out.push(t(a, b));
  for (const q of yesNoTexts()) out.push(q);
  for (const c of colours) out.push(FIND_COLOUR(c));
  for (const sh of SHAPES) out.push(FIND_SHAPE(sh));
  for (const k of CORNERS) out.push(COLOUR_AT(k), SHAPE_AT(k));
  return out;
}

/**
 * A shapes-task sample. `ground` (questions that describe objects: relation, find, attribute,
 * and yes/no but for count) lists, per object description of the question (first-named
 * first), the quadrants (0 top left, 1 top right, 2 bottom left, 3 bottom right) of the
 * objects that fit it, possibly none ("is there a red circle?" when there is none): the
 * target of pretraining's grounding objective.
 */
export interface ShapesSample extends SampleLike {
  ground?: number[][];
}

export const SHAPES_SIZE = 28;
const S = SHAPES_SIZE;

function inside(shape: string, dx: number, dy: number, r: number): boolean {
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square':
      return Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8;
    case 'triangle':
      // Apex up: the half-width grows linearly from 0 at the top to r at the bottom.
      return dy >= -r && dy <= r && Math.abs(dx) <= (dy + r) / 2;
    default:
      // cross
      return (
        Math.abs(dx) <= r && Math.abs(dy) <= r && (Math.abs(dx) <= r / 3 || Math.abs(dy) <= r / 3)
      );
  }
}

function pick<T>(a: readonly T[], rand: () => number): T {
  return a[Math.floor(rand() * a.length)];
}

export interface ShapesOptions {
  /** Peak-to-peak background noise in grey levels at difficulty 1 (default 30). */
  noise?: number;
  /**
   * In [0, 1] (default 1, the held-out setting): scales the pixel noise and the objects' jitter
   * (position, brightness, pattern contrast). Pretraining's curriculum ramps it from 0.
   */
  difficulty?: number;
  /** Fraction of grey (1-channel) images (default 0.3); colour questions use colour images. */
  greyFraction?: number;
  /**
   * Relative frequency of each question type (default: all equal). Pretraining's adaptive
   * curriculum asks more of the types the model still gets wrong.
   */
  typeWeights?: Partial<Record<ShapesQuestionType, number>>;
}

function pickWeighted<T extends string>(
  xs: readonly T[],
  w: Partial<Record<T, number>>,
  rand: () => number,
): T {
  const ws = xs.map((x) => w[x] ?? 1);
  let u = rand() * ws.reduce((a, b) => a + b, 0);
  for (let i = 0; i < xs.length; i++) {
    u -= ws[i];
    if (u < 0) return xs[i];
  }
  return xs[xs.length - 1];
}

interface Scene {
  grey: boolean;
  /** One shape per object. */
  shapes: string[];
  colours: string[];
  size: (typeof SIZES)[number];
  quads: number[];
}

/** Renders a scene of 1-4 objects, one per quadrant, on a dark noisy background. */
function renderObjects(sc: Scene, rand: () => number, noise: number, jitter: number): Uint8Array {
  const ch = sc.grey ? 1 : 3;
  const img = new Uint8Array(S * S * ch);
  const bg = 15 + Math.floor(rand() * 45);
  for (let i = 0; i < img.length; i++)
    img[i] = Math.max(0, Math.min(255, bg + Math.floor((rand() - 0.5) * noise)));
  const gain = 1 - 0.2 * jitter * rand();
  sc.quads.forEach((q, k) => {
    const [lo, hi] = sc.size === 'small' ? [3.6, 4.4] : [5.6, 6.6];
    const r = lo + rand() * (hi - lo);
    const cx = (q % 2) * 14 + 6.5 + (rand() - 0.5) * 2 * jitter;
    const cy = Math.floor(q / 2) * 14 + 6.5 + (rand() - 0.5) * 2 * jitter;
    const rgb = COLOURS[sc.colours[k]];
    // Grey images: a bright object (160-255) whatever its nominal colour.
    const level = 255 - Math.floor(rand() * 95 * Math.max(jitter, 0.3));
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        if (!inside(sc.shapes[k], x - cx, y - cy, r)) continue;
        const o = (y * S + x) * ch;
        if (sc.grey) img[o] = level * gain;
        else for (let c = 0; c < 3; c++) img[o + c] = rgb[c] * gain;
      }
    }
  });
  return img;
}

/** A full-image texture (line / checker / blob / gradient) in grey or one colour. */
function renderPattern(
  pattern: (typeof PATTERNS)[number],
  grey: boolean,
  rand: () => number,
  noise: number,
  jitter: number,
): Uint8Array {
  const ch = grey ? 1 : 3;
  const img = new Uint8Array(S * S * ch);
  const rgb = grey ? [255, 255, 255] : COLOURS[pick(Object.keys(COLOURS), rand)];
  const lo = 20 + 30 * rand();
  const contrast = 1 - 0.35 * jitter * rand();
  const period = 4 + Math.floor(rand() * 4); // 4-7 px: one or two cycles per 7 px patch
  const phase = rand() * period;
  const cell = 2 + Math.floor(rand() * 3);
  const flip = rand() < 0.5;
  const blobs = Array.from({ length: 5 + Math.floor(rand() * 6) }, () => ({
    x: rand() * S,
    y: rand() * S,
    r: 1.5 + rand() * 1.5,
  }));
  const angle = rand() * 2 * Math.PI;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let v: number; // in [0, 1]
      switch (pattern) {
        case 'horizontal lines':
          v = 0.5 + 0.5 * Math.cos((2 * Math.PI * (y + phase)) / period);
          break;
        case 'vertical lines':
          v = 0.5 + 0.5 * Math.cos((2 * Math.PI * (x + phase)) / period);
          break;
        case 'diagonal lines':
          v = 0.5 + 0.5 * Math.cos((2 * Math.PI * ((flip ? x + y : x - y) + phase)) / period);
          break;
        case 'checkerboard':
          v = (Math.floor((x + phase) / cell) + Math.floor((y + phase) / cell)) % 2;
          break;
        case 'blobs': {
          v = 0;
          for (const b of blobs) {
            const d2 = (x - b.x) ** 2 + (y - b.y) ** 2;
            v = Math.max(v, Math.exp(-d2 / (2 * b.r * b.r)));
          }
          break;
        }
        default: {
          // gradient: a smooth ramp in a random direction
          const t = ((x - S / 2) * Math.cos(angle) + (y - S / 2) * Math.sin(angle)) / S;
          v = Math.min(1, Math.max(0, 0.5 + t));
        }
      }
      const o = (y * S + x) * ch;
      for (let c = 0; c < ch; c++) {
        const hi = rgb[c] * contrast;
        const p = lo + (hi - lo) * v + (rand() - 0.5) * noise;
        img[o + c] = Math.max(0, Math.min(255, p));
      }
    }
  }
  return img;
}

const YESNO_FORMS = ['shape', 'colour', 'colourShape', 'count', 'position', 'size'] as const;
const PLURAL: Record<string, string> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  cross: 'crosses',
};

function yesNoQuestion(form: (typeof YESNO_FORMS)[number], v: Record<string, string>): string {
  switch (form) {
    case 'shape':
      return `are the objects ${PLURAL[v.shape]}?`;
    case 'colour':
      return `are the shapes ${v.colour}?`;
    case 'colourShape':
      return `is there a ${v.colour} ${v.shape}?`;
    case 'count':
      return `are there ${v.count} shapes?`;
    case 'position':
      return `is the shape in the ${v.corner}?`;
    default:
      return `are the shapes ${v.size}?`;
  }
}

function yesNoTexts(): string[] {
  const out: string[] = [];
  for (const shape of SHAPES)
    for (const colour of Object.keys(COLOURS))
      for (const count of COUNT_WORDS)
        for (const corner of CORNERS)
          for (const size of SIZES)
            for (const f of YESNO_FORMS)
              out.push(yesNoQuestion(f, { shape, colour, count, corner, size }));
  return [...new Set(out)];
}

/** `n` samples; question types equally frequent, answers balanced within each type. */
export function shapesTask(n: number, seed: number, opts: ShapesOptions = {}): ShapesSample[] {
  const difficulty = opts.difficulty ?? 1;
  const noise = (opts.noise ?? 30) * difficulty;
  const greyFraction = opts.greyFraction ?? 0.3;
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`shapesTask: n must be a non-negative integer, got ${n}`);
  if (!(difficulty >= 0 && difficulty <= 1))
    throw new Error(`shapesTask: difficulty must be in [0, 1], got ${difficulty}`);
  if (!(noise >= 0)) throw new Error(`shapesTask: noise must be >= 0, got ${opts.noise}`);
  if (!(greyFraction >= 0 && greyFraction <= 1))
    throw new Error(`shapesTask: greyFraction must be in [0, 1], got ${greyFraction}`);
  const weights = opts.typeWeights;
  if (weights) {
    for (const [t, w] of Object.entries(weights)) {
      if (!(PRETRAIN_QUESTION_TYPES as readonly string[]).includes(t))
        throw new Error(
          `shapesTask: typeWeights has unknown type "${t}"; types: ${PRETRAIN_QUESTION_TYPES.join(', ')}`,
        );
      if (!(Number(w) >= 0)) throw new Error(`shapesTask: typeWeights.${t} must be >= 0, got ${w}`);
    }
    if (!PRETRAIN_QUESTION_TYPES.some((t) => (weights[t] ?? defaultWeight(t)) > 0))
      throw new Error('shapesTask: typeWeights gives every type weight 0');
  }
  const rand = mulberry32(seed);
  const colourNames = Object.keys(COLOURS);
  const out: ShapesSample[] = [];
  for (let k = 0; k < n; k++) {
    // The stepping-stone types come after the held-out ones with default weight 0, so a
    // weighting that leaves them out draws the same samples as before they existed.
    const type = weights
      ? pickWeighted(PRETRAIN_QUESTION_TYPES, { ...BINDING_OFF, ...weights }, rand)
      : pick(SHAPES_QUESTION_TYPES, rand);
    if (type === 'find' || type === 'attribute') {
      out.push(bindingSample(type, rand, noise, difficulty, greyFraction));
      continue;
    }
    const needsColour = type === 'colour' || type === 'relation';
    const grey = !needsColour && rand() < greyFraction;
    const channels: 1 | 3 = grey ? 1 : 3;
    if (type === 'pattern') {
      const pattern = pick(PATTERNS, rand);
      const image = renderPattern(pattern, grey, rand, noise, difficulty);
      const question = pick(TEMPLATES.pattern, rand);
      out.push({ image, size: S, channels, question, answer: pattern, questionType: type });
      continue;
    }
    const shape = pick(SHAPES, rand);
    const size = pick(SIZES, rand);
    let count = 1 + Math.floor(rand() * 4);
    if (type === 'position') count = 1;
    if (type === 'relation') count = 2;
    let quads = shuffleInPlace([0, 1, 2, 3], rand).slice(0, count);
    let colours = Array.from({ length: count }, () => pick(colourNames, rand));
    let question: string;
    let answer: string;
    if (type === 'relation') {
      // Two objects of different colours in side-by-side or stacked quadrants.
      const horizontal = rand() < 0.5;
      const base = horizontal ? pick([0, 2], rand) : pick([0, 1], rand);
      const pair = horizontal ? [base, base + 1] : [base, base + 2];
      if (rand() < 0.5) pair.reverse();
      quads = pair;
      const a = pick(colourNames, rand);
      const b = pick(
        colourNames.filter((c) => c !== a),
        rand,
      );
      colours = [a, b];
      const [qa, qb] = pair;
      answer = horizontal ? (qa % 2 < qb % 2 ? 'left' : 'right') : qa < qb ? 'above' : 'below';
      question = pick(RELATION_TEMPLATES, rand)(a, b);
    } else {
      // Every object of a non-relation scene has the same colour (the colour question has
      // one answer).
      colours = colours.map(() => colours[0]);
      const colour = colours[0];
      if (type === 'yesno') {
        const forms = YESNO_FORMS.filter((f) => !(grey && (f === 'colour' || f === 'colourShape')));
        const form = pick(forms, rand);
        if (form === 'position') {
          count = 1;
          quads = quads.slice(0, 1);
          colours = colours.slice(0, 1);
        }
        const truth = rand() < 0.5;
        const other = <T>(xs: readonly T[], x: T) =>
          pick(
            xs.filter((y) => y !== x),
            rand,
          );
        const v: Record<string, string> = {
          shape,
          colour,
          count: COUNT_WORDS[count - 1],
          corner: CORNERS[quads[0]],
          size,
        };
        if (!truth) {
          // Exactly one asked attribute differs from the image, so the question has to be read.
          if (form === 'shape') v.shape = other(SHAPES, shape);
          else if (form === 'colour') v.colour = other(colourNames, colour);
          else if (form === 'colourShape') {
            if (rand() < 0.5) v.shape = other(SHAPES, shape);
            else v.colour = other(colourNames, colour);
          } else if (form === 'count') v.count = other(COUNT_WORDS, v.count);
          else if (form === 'position') v.corner = other(CORNERS, v.corner);
          else v.size = other(SIZES, size);
        }
        question = yesNoQuestion(form, v);
        answer = truth ? 'yes' : 'no';
      } else {
        question = pick(TEMPLATES[type], rand);
        answer =
          type === 'shape'
            ? shape
            : type === 'colour'
              ? colour
              : type === 'count'
                ? COUNT_WORDS[count - 1]
                : type === 'position'
                  ? CORNERS[quads[0]]
                  : size;
      }
    }
    const shapes = colours.map(() => shape);
    const image = renderObjects({ grey, shapes, colours, size, quads }, rand, noise, difficulty);
    const sample: ShapesSample = { image, size: S, channels, question, answer, questionType: type };
    if (type === 'relation') sample.ground = quads.map((q) => [q]);
    // A yes/no question but for count describes every object when true, none when false.
    else if (type === 'yesno' && !question.startsWith('are there'))
      sample.ground = [answer === 'yes' ? [...quads] : []];
    out.push(sample);
  }
  return out;
}

const BINDING_OFF: Partial<Record<ShapesQuestionType, number>> = Object.fromEntries(
  BINDING_QUESTION_TYPES.map((t) => [t, 0]),
);
const defaultWeight = (t: ShapesQuestionType) =>
  (BINDING_QUESTION_TYPES as readonly string[]).includes(t) ? 0 : 1;

/**
 * A stepping-stone sample: 2-4 objects in distinct quadrants that differ in one attribute
 * (colour: same shape, distinct colours, colour image; shape: distinct shapes, one colour),
 * asked where the one with a named value is ('find', a corner) or what value the one in a
 * named corner has ('attribute', a colour or shape word).
 */
function bindingSample(
  type: 'find' | 'attribute',
  rand: () => number,
  noise: number,
  difficulty: number,
  greyFraction: number,
): ShapesSample {
  const byColour = rand() < 0.5;
  const grey = !byColour && rand() < greyFraction;
  const count = 2 + Math.floor(rand() * 3);
  const quads = shuffleInPlace([0, 1, 2, 3], rand).slice(0, count);
  const size = pick(SIZES, rand);
  const colourNames = Object.keys(COLOURS);
  const colours = byColour
    ? shuffleInPlace([...colourNames], rand).slice(0, count)
    : Array<string>(count).fill(pick(colourNames, rand));
  const shapes = byColour
    ? Array<string>(count).fill(pick(SHAPES, rand))
    : shuffleInPlace([...SHAPES], rand).slice(0, count);
  const k = Math.floor(rand() * count);
  const corner = CORNERS[quads[k]];
  const [question, answer] =
    type === 'find'
      ? [byColour ? FIND_COLOUR(colours[k]) : FIND_SHAPE(shapes[k]), corner]
      : byColour
        ? [COLOUR_AT(corner), colours[k]]
        : [SHAPE_AT(corner), shapes[k]];
  const image = renderObjects({ grey, shapes, colours, size, quads }, rand, noise, difficulty);
  return {
    image,
    size: S,
    channels: grey ? 1 : 3,
    question,
    answer,
    questionType: type,
    ground: [[quads[k]]],
  };
}

/** Per question type: chance (1 / its answers) and the majority answer's held-out accuracy. */
export function shapesBaselines(
  train: readonly SampleLike[],
  test: readonly SampleLike[],
): Record<string, { chance: number; majority: number; majorityAnswer: string; n: number }> {
  const out: Record<
    string,
    { chance: number; majority: number; majorityAnswer: string; n: number }
  > = {};
  for (const type of PRETRAIN_QUESTION_TYPES) {
    const tr = train.filter((s) => s.questionType === type);
    const te = test.filter((s) => s.questionType === type);
    if (tr.length === 0 || te.length === 0) continue;
    const counts = new Map<string, number>();
    for (const s of tr) counts.set(s.answer, (counts.get(s.answer) ?? 0) + 1);
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    out[type] = {
      chance: 1 / SHAPES_TYPE_ANSWERS[type].length,
      majority: te.filter((s) => s.answer === best).length / te.length,
      majorityAnswer: best,
      n: te.length,
    };
  }
  return out;
}
