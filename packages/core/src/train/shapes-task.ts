// Generic, non-medical synthetic image-question task for pretraining the `tiny` base (
// shapes, colours, counts, positions). 28 x 28 RGB images with 1-4 identical shapes, one per
// quadrant; questions in several phrasings; seeded. Federated fine-tuning then adapts this
// general model to the (synthetic) medical clients, as the paper adapts a pretrained ViLT.
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

/** The task's answer classes (head outputs of the pretrained base). */
export const SHAPES_ANSWERS: readonly string[] = [
  ...SHAPES,
  ...Object.keys(COLOURS),
  ...COUNT_WORDS,
  ...CORNERS,
  'yes',
  'no',
];

export type ShapesQuestionType = 'shape' | 'colour' | 'count' | 'position' | 'yesno';

const TEMPLATES: Record<Exclude<ShapesQuestionType, 'yesno'>, string[]> = {
  shape: ['what shape is shown?', 'which shape can you see?', 'what is the shape of the objects?'],
  colour: ['what colour is the shape?', 'what color are the objects?', 'which colour is shown?'],
  count: ['how many shapes are there?', 'how many objects can you see?', 'count the shapes.'],
  position: [
    'where is the shape?',
    'in which corner is the object?',
    'where is the object located?',
  ],
};

export const SHAPES_SIZE = 28;

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

/** `n` samples; the same seed gives the same samples on every platform. */
export interface ShapesOptions {
  /** Shape radius range in pixels (default 4.5 .. 6.5: a shape covers several 7 px patches). */
  minRadius?: number;
  maxRadius?: number;
  /** Peak-to-peak background noise in grey levels (default 30; the committed base was pretrained with it). */
  noise?: number;
}

export function shapesTask(n: number, seed: number, opts: ShapesOptions = {}): SampleLike[] {
  const minR = opts.minRadius ?? 4.5;
  const maxR = opts.maxRadius ?? 6.5;
  const noise = opts.noise ?? 30;
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`shapesTask: n must be a non-negative integer, got ${n}`);
  const rand = mulberry32(seed);
  const S = SHAPES_SIZE;
  const colourNames = Object.keys(COLOURS);
  const out: SampleLike[] = [];
  for (let k = 0; k < n; k++) {
    const shape = pick(SHAPES, rand);
    const colour = pick(colourNames, rand);
    // One object 40% of the time (position questions need it), else 2-4.
    const count = rand() < 0.4 ? 1 : 2 + Math.floor(rand() * 3);
    const quads = shuffleInPlace([0, 1, 2, 3], rand).slice(0, count);
    const img = new Uint8Array(S * S * 3);
    const bg = 20 + Math.floor(rand() * 40);
    for (let i = 0; i < img.length; i++)
      img[i] = Math.max(0, Math.min(255, bg + Math.floor((rand() - 0.5) * noise)));
    const [cr, cg, cb] = COLOURS[colour];
    const gain = 0.8 + rand() * 0.2;
    for (const q of quads) {
      const r = minR + rand() * (maxR - minR);
      const cx = (q % 2) * 14 + 7 + (rand() - 0.5) * 2;
      const cy = Math.floor(q / 2) * 14 + 7 + (rand() - 0.5) * 2;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          if (!inside(shape, x - cx, y - cy, r)) continue;
          const o = (y * S + x) * 3;
          img[o] = cr * gain;
          img[o + 1] = cg * gain;
          img[o + 2] = cb * gain;
        }
      }
    }
    let type: ShapesQuestionType;
    const u = rand();
    if (u < 0.2) type = 'shape';
    else if (u < 0.4) type = 'colour';
    else if (u < 0.6) type = 'count';
    else if (u < 0.75) type = count === 1 ? 'position' : 'count';
    else type = 'yesno';
    let question: string;
    let answer: string;
    if (type === 'yesno') {
      // When the answer is "no", exactly one asked attribute differs from the image, so the
      // question has to be read to answer.
      const truth = rand() < 0.5;
      const otherShape = pick(
        SHAPES.filter((x) => x !== shape),
        rand,
      );
      const otherColour = pick(
        colourNames.filter((x) => x !== colour),
        rand,
      );
      const form = Math.floor(rand() * 3);
      if (form === 0) {
        const wrongShape = rand() < 0.5;
        const c = truth || wrongShape ? colour : otherColour;
        const sh = truth || !wrongShape ? shape : otherShape;
        question = `is there a ${c} ${sh}?`;
      } else if (form === 1) question = `are the shapes ${truth ? colour : otherColour}?`;
      else question = `is this a ${truth ? shape : otherShape}?`;
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
              : CORNERS[quads[0]];
    }
    out.push({ image: img, size: S, channels: 3, question, answer, questionType: type });
  }
  return out;
}
