// Pretraining of the base (everything but the adapters/LoRA units) plus the head on a generic
// task (shapes-task.ts). The word table is trained only on the rows the task's questions use:
// those rows are gathered into a compact table and looked up with a one-hot matmul (the wasm
// backend has no gradient for tf.gather), then written back; other rows keep their seeded init.
// Batches come from a source: a fixed sample list (epochs of shuffles) or a generator that
// draws fresh samples every step (no overfitting, and a curriculum through `difficulty`).
// Two optional objectives beside the answers' cross-entropy: deep supervision (the answer read
// after every block) and "describe" (pooled features regress generic image statistics).
import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from '../random.js';
import { disposeBatch, encodeBatch, sliceBatch, type SampleLike } from '../model/batch.js';
import { defaultTokenizer } from '../model/tokenizer.js';
import { block, embed, layerNorm, type ParamLookup, type VqaBatch } from '../model/forward.js';
import type { VqaModel } from '../model/vqa-model.js';
import { AdamW } from './adamw.js';
import { crossEntropy } from './loss.js';
import { IMAGE_STATS_DIM, imageStatistics } from './image-stats.js';
import { PROBE_QUESTION } from './probe.js';
import {
  BINDING_QUESTION_TYPES,
  PRETRAIN_QUESTION_TYPES,
  shapesTask,
  shapesQuestionTexts,
  type ShapesOptions,
  type ShapesQuestionType,
  type ShapesSample,
} from './shapes-task.js';

/** Where pretraining batches come from. */
export interface PretrainSource {
  /** `n` training samples for step `step` (0-based) of `steps`. */
  batch(n: number, step: number, steps: number): SampleLike[];
  /** Every question text the source can produce: their words are the trained table rows. */
  questions: readonly string[];
  /** After each step: which of the batch's samples the model answered right (before the update). */
  observe?(samples: readonly SampleLike[], correct: readonly boolean[]): void;
  /** Running training accuracy per question type, when the source tracks it (for logs). */
  typeAccuracy?(): Record<string, number>;
}

export interface ShapesSourceOptions extends Omit<ShapesOptions, 'difficulty' | 'typeWeights'> {
  /** Fraction of the steps over which the difficulty ramps linearly from 0 to 1 (default 0.3). */
  curriculumFraction?: number;
  /**
   * Adaptive type mix (default true): each question type is drawn with weight
   * `floor + (1 - accuracy)`, accuracy a running mean of the model's training answers of that
   * type, so types already answered right give their share of the batch to those still wrong
   * (self-paced curriculum). Deterministic given the seed: the answers are.
   */
  adaptiveTypes?: boolean;
  /** Weight floor of a solved type (default 0.2). */
  typeFloor?: number;
  /** Ask only these question types (a focused phase); the others get weight 0. */
  onlyTypes?: readonly ShapesQuestionType[];
  /**
   * Weight of the stepping-stone types (shapes-task.ts BINDING_QUESTION_TYPES) relative to a
   * held-out type's (default 0: not asked; the samples are then those drawn before they existed).
   */
  bindingWeight?: number;
}

/** 32-bit seed of step `step` of a run seeded `seed` (FNV-1a style mix; deterministic). */
function stepSeed(seed: number, step: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193) ^ (step >>> 0);
  h = Math.imul(h, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * Fresh shapes-task samples every step, from a seed; a curriculum ramps the noise and jitter
 * from clean (difficulty 0) to the held-out setting (difficulty 1) over the first
 * `curriculumFraction` of the steps, then stays there.
 */
export function shapesSource(seed: number, opts: ShapesSourceOptions = {}): PretrainSource {
  const frac = opts.curriculumFraction ?? 0.3;
  if (!(frac >= 0 && frac <= 1))
    throw new Error(`shapesSource: curriculumFraction must be in [0, 1], got ${frac}`);
  const adaptive = opts.adaptiveTypes ?? true;
  const floor = opts.typeFloor ?? 0.2;
  if (!(floor > 0)) throw new Error(`shapesSource: typeFloor must be > 0, got ${floor}`);
  // Running accuracy per type (exponential mean over answers, ~50 answers of memory).
  const acc = new Map<string, number>(PRETRAIN_QUESTION_TYPES.map((t) => [t, 0]));
  const only = opts.onlyTypes;
  for (const t of only ?? [])
    if (!(PRETRAIN_QUESTION_TYPES as readonly string[]).includes(t))
      throw new Error(
        `shapesSource: onlyTypes has unknown type "${t}"; types: ${PRETRAIN_QUESTION_TYPES.join(', ')}`,
      );
  const binding = opts.bindingWeight ?? 0;
  if (!(binding >= 0))
    throw new Error(`shapesSource: bindingWeight must be >= 0, got ${opts.bindingWeight}`);
  const isBinding = (t: ShapesQuestionType) =>
    (BINDING_QUESTION_TYPES as readonly string[]).includes(t);
  const {
    curriculumFraction: _c,
    adaptiveTypes: _a,
    typeFloor: _f,
    onlyTypes: _o,
    bindingWeight: _b,
    ...taskOpts
  } = opts;
  return {
    questions: shapesQuestionTexts(),
    batch: (n, step, steps) => {
      const ramp = frac * steps;
      const difficulty = ramp <= 0 ? 1 : Math.min(1, step / ramp);
      const base = (t: ShapesQuestionType) => (adaptive ? floor + 1 - (acc.get(t) ?? 0) : 1);
      const weight = (t: ShapesQuestionType) =>
        only ? (only.includes(t) ? base(t) : 0) : isBinding(t) ? binding * base(t) : base(t);
      const typeWeights =
        adaptive || only || binding > 0
          ? Object.fromEntries(PRETRAIN_QUESTION_TYPES.map((t) => [t, weight(t)]))
          : undefined;
      return shapesTask(n, stepSeed(seed, step), { ...taskOpts, difficulty, typeWeights });
    },
    observe: adaptive
      ? (samples, correct) =>
          samples.forEach((s, i) => {
            const a = acc.get(s.questionType) ?? 0;
            acc.set(s.questionType, 0.98 * a + 0.02 * (correct[i] ? 1 : 0));
          })
      : undefined,
    typeAccuracy: () => Object.fromEntries(acc),
  };
}

/** A fixed list of samples, shuffled anew every epoch. */
function listSource(samples: readonly SampleLike[], seed: number): PretrainSource {
  const rand = mulberry32(seed);
  let perm: number[] = [];
  let cursor = 0;
  return {
    questions: [...new Set(samples.map((s) => s.question))],
    batch: (n) => {
      if (cursor + n > perm.length) {
        perm = shuffleInPlace(
          Array.from({ length: samples.length }, (_, i) => i),
          rand,
        );
        cursor = 0;
      }
      const out = perm.slice(cursor, cursor + n).map((i) => samples[i]);
      cursor += n;
      return out;
    },
  };
}

/**
 * 2-D sine-cosine position embeddings of the image tokens (ViT/MAE style: half the channels
 * encode the patch row, half the column, at geometric frequencies), scaled to `amplitude`.
 * Row 0 (the image [CLS]) is zero. Random 0.02-std embeddings carry almost no position
 * signal next to patch features of norm ~1, so corner and relative-position questions
 * start from nothing; these start from a map where nearby patches are similar.
 */
export function sincosImagePositions(
  grid: number,
  hidden: number,
  amplitude: number,
  frequencies: 'geometric' | 'linear' = 'geometric',
): Float32Array {
  if (hidden % 4 !== 0)
    throw new Error(`sincosImagePositions: hidden must be a multiple of 4, got ${hidden}`);
  const out = new Float32Array((grid * grid + 1) * hidden);
  const q = hidden / 4;
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const row = 1 + r * grid + c;
      for (let k = 0; k < q; k++) {
        // Geometric frequencies from pi/grid down to a quarter of that (radians per patch):
        // every phase difference across the grid stays below pi, so the embedding distance
        // grows with the patch distance along each axis.
        // 'linear' (the first variant, kept to reproduce the committed tiny base): multiples
        // of a quarter cycle across the grid; distinct rows, but nearly equidistant ones.
        const w =
          frequencies === 'geometric'
            ? (Math.PI / grid) * 0.25 ** (k / Math.max(1, q - 1))
            : (Math.PI * (k + 1)) / (2 * grid);
        out[row * hidden + k] = amplitude * Math.sin(r * w);
        out[row * hidden + q + k] = amplitude * Math.cos(r * w);
        out[row * hidden + 2 * q + k] = amplitude * Math.sin(c * w);
        out[row * hidden + 3 * q + k] = amplitude * Math.cos(c * w);
      }
    }
  }
  return out;
}

export interface PretrainOptions {
  steps: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  /** Linear warm-up over this fraction of the steps, then cosine decay to 2 % (default 0.05). */
  warmupFraction?: number;
  seed: number;
  onProgress?: (p: {
    step: number;
    steps: number;
    loss: number;
    lr: number;
  }) => void | Promise<void>;
  /**
   * Deep supervision (default 0: off): the loss adds `weight` x the mean cross-entropy of the
   * answer read (final LN -> first token -> pooler -> head, the same shared weights) after every
   * block but the last. Measured on the committed tiny base, a linear probe reads the asked
   * corner from the first token after block 1 (94.7 %) far better than after block 6 (80.7 %):
   * later blocks wash out what early ones found. Reading the answer at every depth gives each
   * block a short gradient path and keeps the residual stream answer-ready at every depth,
   * where the federation's adapters sit.
   */
  deepSupervision?: number;
  /**
   * The "describe" objective (default off): `fraction` of each batch's images are also asked
   * `question` (default the probe's neutral question, probe.ts), and a linear regression head
   * (trained alongside, then discarded) must predict their low-level statistics
   * (image-stats.ts, standardised) from the pooled features; its mean squared error, times
   * `weight`, joins the loss. Answer training alone keeps only what the task's answers need
   * (the committed bases' pooled features tell the 12 MedMNIST-like subsets apart worse than a
   * random base's: 67 % vs 74 %); this keeps brightness layout, colour, texture and edges.
   */
  describe?: {
    weight: number;
    fraction: number;
    question?: string;
    /**
     * What the regression head reads: the pooled features (default) or the mean of the image-
     * patch tokens after the last block (the probe's `imageTokenFeatures`, probe.ts).
     */
    from?: 'pooled' | 'image-mean';
  };
  /**
   * The grounding objective (default off): for questions that describe objects (shapes-task.ts
   * `ground`), every image patch token after every block is classified by a throwaway linear
   * head as part of an object fitting the first description, the second, or neither; its mean cross-entropy, times `weight`, joins the loss.
   * Answering "where is the red shape relative to the blue one?" from the first token needs
   * two steps (patches that match a named word mark themselves; the first token reads where
   * the marks are), and the answer's gradient reaches the first step only once the second
   * works: measured, 400 steps of stepping-stone questions alone leave "where is the red
   * shape?" at 35 % (chance 25 %). Supervising the first step directly breaks that plateau.
   */
  grounding?: { weight: number };
  /** Every `snapshotEvery` steps the current weights are written into the model and this runs. */
  snapshotEvery?: number;
  onSnapshot?: (step: number) => void | Promise<void>;
}

/** Learning rate of step `step`: linear warm-up, then cosine decay to 2 % of `lr`. */
export function pretrainLr(lr: number, step: number, steps: number, warmupFraction: number) {
  const warm = Math.floor(warmupFraction * steps);
  const progress =
    step < warm
      ? (step + 1) / warm
      : 0.5 * (1 + Math.cos((Math.PI * (step - warm)) / Math.max(1, steps - warm)));
  return lr * Math.max(progress, 0.02);
}

/** Answer logits read from the first token of `x` (final LN -> pooler -> head; forward.ts
 * `classify`, with the first token sliced before the LayerNorm, which acts per token). */
function readout(
  model: VqaModel,
  p: ParamLookup,
  x: tf.Tensor3D,
): { pooled: tf.Tensor2D; logits: tf.Tensor2D } {
  const [n, , H] = x.shape;
  const c = model.config;
  const first = x.slice([0, 0, 0], [n, 1, H]).reshape([n, H]);
  const y = layerNorm(first, p('final_ln/gamma'), p('final_ln/beta'), c.layerNormEps);
  const pooled = tf.tanh(
    tf.matMul(y as tf.Tensor2D, p('pooler/kernel') as tf.Tensor2D).add(p('pooler/bias')),
  ) as tf.Tensor2D;
  const logits = tf.matMul(pooled, p('head/kernel') as tf.Tensor2D).add(p('head/bias'));
  return { pooled, logits: logits as tf.Tensor2D };
}

/**
 * Answer logits after every block (index k: after block k; the last is the model's output)
 * and the final pooled features, with `over` replacing any named tensor (as `model.apply`).
 */
export function forwardPerBlock(
  model: VqaModel,
  over: Record<string, tf.Tensor>,
  batch: VqaBatch,
): { logits: tf.Tensor2D[]; pooled: tf.Tensor2D; patches: tf.Tensor3D[] } {
  const c = model.config;
  const p = model.lookup(over);
  let state = embed(c, p, batch, { embedding: 'onehot' });
  const logits: tf.Tensor2D[] = [];
  const patches: tf.Tensor3D[] = [];
  let pooled: tf.Tensor2D | null = null;
  // Token layout (forward.ts `embed`): the question's tokens, the image [CLS], the patches.
  const [n, T] = batch.tokens.shape;
  const N = batch.images.shape[1] / c.patchSize;
  for (let i = 0; i < c.numLayers; i++) {
    state = block(c, p, i, state);
    const r = readout(model, p, state.x);
    logits.push(r.logits);
    patches.push(state.x.slice([0, T + 1, 0], [n, N * N, c.hidden]));
    pooled = r.pooled;
  }
  return { logits, pooled: pooled as tf.Tensor2D, patches };
}

/**
 * Grounding classes of each patch of `samples` [n * patches] (0 neither, 1 in the first-named
 * object's quadrant, 2 in the second's) and per-row weights (1 where the sample names objects).
 */
function groundingTargets(
  samples: readonly SampleLike[],
  grid: number,
): { labels: Int32Array; weights: Float32Array } {
  const N = grid * grid;
  const labels = new Int32Array(samples.length * N);
  const weights = new Float32Array(samples.length * N);
  samples.forEach((s, i) => {
    const ground = (s as ShapesSample).ground;
    if (!ground) return;
    for (let r = 0; r < grid; r++)
      for (let c = 0; c < grid; c++) {
        const q = (r >= grid / 2 ? 2 : 0) + (c >= grid / 2 ? 1 : 0);
        const k = ground.findIndex((qs) => qs.includes(q));
        labels[i * N + r * grid + c] = k < 0 ? 0 : k + 1;
        weights[i * N + r * grid + c] = 1;
      }
  });
  return { labels, weights };
}

export async function pretrainBase(
  model: VqaModel,
  data: readonly SampleLike[] | PretrainSource,
  opts: PretrainOptions,
): Promise<{ seconds: number; finalLoss: number; usedWords: number }> {
  if (!Number.isInteger(opts.steps) || opts.steps <= 0)
    throw new Error(`pretrainBase: steps must be a positive integer, got ${opts.steps}`);
  const isList = Array.isArray(data);
  if (isList && data.length === 0) throw new Error('pretrainBase: samples is empty');
  const source = isList
    ? listSource(data as readonly SampleLike[], opts.seed)
    : (data as PretrainSource);
  const units = new Set(model.layerNames());
  const names = model
    .paramNames()
    .filter((n) => !units.has(n.split('/')[0]) && n !== 'text_embed/word');
  // Compact word table: the rows of every token the source's questions use (plus padding).
  const tok = defaultTokenizer();
  const usedSet = new Set<number>([0]);
  const describe = opts.describe;
  if (describe) {
    if (!(describe.weight > 0))
      throw new Error(`pretrainBase: describe.weight must be > 0, got ${describe.weight}`);
    if (!(describe.fraction > 0 && describe.fraction <= 1))
      throw new Error(
        `pretrainBase: describe.fraction must be in (0, 1], got ${describe.fraction}`,
      );
    if (describe.from !== undefined && describe.from !== 'pooled' && describe.from !== 'image-mean')
      throw new Error(
        `pretrainBase: describe.from must be pooled or image-mean, got "${String(describe.from)}"`,
      );
  }
  const describeQuestion = describe?.question ?? PROBE_QUESTION;
  for (const q of describe ? [...source.questions, describeQuestion] : source.questions)
    for (const id of tok.encode(q, model.config.maxTextLen).ids) usedSet.add(id);
  const used = [...usedSet].sort((a, b) => a - b);
  const compactOf = new Int32Array(model.config.vocabSize).fill(-1);
  used.forEach((id, i) => (compactOf[id] = i));
  const H = model.config.hidden;
  const word = model.getParams(['text_embed/word'])['text_embed/word'].data;
  const rows = new Float32Array(used.length * H);
  used.forEach((id, i) => rows.set(word.subarray(id * H, (id + 1) * H), i * H));
  const table = tf.tidy(() => tf.variable(tf.tensor2d(rows, [used.length, H]), true));
  const vars = Object.fromEntries(names.map((n) => [n, tf.variable(model.tensor(n), true)]));
  const order = [...names.map((n) => vars[n]), table];
  const lr = opts.lr ?? 2e-3;
  const opt = new AdamW({ lr, weightDecay: opts.weightDecay ?? 0.01 });
  const bs = isList
    ? Math.min(opts.batchSize ?? 32, (data as readonly SampleLike[]).length)
    : (opts.batchSize ?? 32);
  const warmup = opts.warmupFraction ?? 0.05;
  const deep = opts.deepSupervision ?? 0;
  if (!(deep >= 0)) throw new Error(`pretrainBase: deepSupervision must be >= 0, got ${deep}`);
  const encode = (samples: SampleLike[], unlabelled = false): VqaBatch => {
    const b = encodeBatch(samples, {
      config: model.config,
      answers: model.answers,
      allowUnknownAnswers: unlabelled,
    });
    const ids = b.tokens.dataSync();
    const compact = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const c = compactOf[ids[i]];
      if (c < 0)
        throw new Error(
          `pretrainBase: token id ${ids[i]} of a batch question is not in the source's question list`,
        );
      compact[i] = c;
    }
    b.tokens.dispose();
    b.tokens = tf.tensor2d(compact, [samples.length, model.config.maxTextLen], 'int32');
    return b;
  };
  // A fixed list is encoded once and sliced; a generator's batches are encoded per step.
  const all = isList ? encode([...(data as readonly SampleLike[])]) : null;
  const listIndex = new Map<SampleLike, number>();
  if (isList) (data as readonly SampleLike[]).forEach((s, i) => listIndex.set(s, i));
  // The describe objective's regression head and target standardisation, from a sample of the
  // training images: a list's first 256, or a generator's step-0 batch (drawn again, unchanged,
  // at step 0: a generated batch depends only on the seed, the step and the type weights).
  const nDescribe = describe ? Math.max(1, Math.round(describe.fraction * bs)) : 0;
  let describeHead: { w: tf.Variable; b: tf.Variable } | null = null;
  let statMean = new Float32Array(IMAGE_STATS_DIM);
  let statScale = new Float32Array(IMAGE_STATS_DIM).fill(1);
  if (describe) {
    const ref = (
      isList
        ? (data as readonly SampleLike[]).slice(0, 256)
        : source.batch(Math.max(256, bs), 0, opts.steps)
    ).map(imageStatistics);
    statMean = statMean.map((_, j) => ref.reduce((a, r) => a + r[j], 0) / ref.length);
    statScale = statScale.map((_, j) => {
      const v = ref.reduce((a, r) => a + (r[j] - statMean[j]) ** 2, 0) / ref.length;
      return 1 / Math.max(Math.sqrt(v), 0.02);
    });
    const init = new Float32Array(H * IMAGE_STATS_DIM);
    const rand = mulberry32((opts.seed ^ 0x5eed) >>> 0);
    for (let i = 0; i < init.length; i++) init[i] = (rand() - 0.5) * 0.02;
    describeHead = tf.tidy(() => ({
      w: tf.variable(tf.tensor2d(init, [H, IMAGE_STATS_DIM]), true),
      b: tf.variable(tf.zeros([IMAGE_STATS_DIM]), true),
    }));
    order.push(describeHead.w, describeHead.b);
  }
  const grounding = opts.grounding;
  if (grounding && !(grounding.weight > 0))
    throw new Error(`pretrainBase: grounding.weight must be > 0, got ${grounding.weight}`);
  const grid = model.config.imageSize / model.config.patchSize;
  let groundHead: { w: tf.Variable; b: tf.Variable } | null = null;
  if (grounding) {
    const init = new Float32Array(H * 3);
    const rand = mulberry32((opts.seed ^ 0x9e0d) >>> 0);
    for (let i = 0; i < init.length; i++) init[i] = (rand() - 0.5) * 0.02;
    groundHead = tf.tidy(() => ({
      w: tf.variable(tf.tensor2d(init, [H, 3]), true),
      b: tf.variable(tf.zeros([3]), true),
    }));
    order.push(groundHead.w, groundHead.b);
  }
  const describeTargets = (samples: readonly SampleLike[]): tf.Tensor2D => {
    const z = new Float32Array(samples.length * IMAGE_STATS_DIM);
    samples.forEach((s, i) =>
      imageStatistics(s).forEach(
        (v, j) => (z[i * IMAGE_STATS_DIM + j] = (v - statMean[j]) * statScale[j]),
      ),
    );
    return tf.tensor2d(z, [samples.length, IMAGE_STATS_DIM]);
  };
  const t0 = performance.now();
  const tail: number[] = [];
  const writeBack = () => {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const n of names)
      out[n] = { shape: [...vars[n].shape], data: new Float32Array(vars[n].dataSync()) };
    const trained = table.dataSync();
    const newWord = word.slice();
    used.forEach((id, i) => newWord.set(trained.subarray(i * H, (i + 1) * H), id * H));
    out['text_embed/word'] = { shape: [model.config.vocabSize, H], data: newWord };
    model.setParams(out);
  };
  try {
    for (let step = 0; step < opts.steps; step++) {
      const samples = source.batch(bs, step, opts.steps);
      let batch = all
        ? sliceBatch(
            all,
            samples.map((s) => listIndex.get(s) as number),
          )
        : encode(samples);
      const n = samples.length;
      let targets: tf.Tensor2D | null = null;
      if (describeHead) {
        // The describe rows (the batch's first images, asked the neutral question) ride in the
        // same forward pass after the n answer rows; only the answer rows enter the
        // cross-entropy.
        const extra = samples
          .slice(0, nDescribe)
          .map((s) => ({ ...s, question: describeQuestion, answer: '' }));
        const d = encode(extra, true);
        const joined: VqaBatch = {
          images: tf.concat([batch.images, d.images]) as tf.Tensor4D,
          tokens: tf.concat([batch.tokens, d.tokens]) as tf.Tensor2D,
          mask: tf.concat([batch.mask, d.mask]) as tf.Tensor2D,
          labels: tf.concat([batch.labels, d.labels]) as tf.Tensor1D,
        };
        disposeBatch(batch);
        disposeBatch(d);
        batch = joined;
        targets = describeTargets(extra);
      }
      const labels = describeHead ? batch.labels.slice([0], [n]) : batch.labels;
      // Grounding targets as weighted one-hot rows (rows of samples that name no object are 0).
      let ground: { oneHot: tf.Tensor2D; count: number } | null = null;
      if (groundHead) {
        const g = groundingTargets(samples, grid);
        const count = g.weights.reduce((a, b) => a + b, 0);
        ground = {
          oneHot: tf.tidy(() =>
            tf
              .oneHot(tf.tensor1d(g.labels, 'int32'), 3)
              .mul(tf.tensor2d(g.weights, [g.weights.length, 1])),
          ) as tf.Tensor2D,
          count,
        };
      }
      let pred: tf.Tensor | null = null;
      const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
        const over: Record<string, tf.Tensor> = {};
        names.forEach((n, i) => (over[n] = xs[i]));
        over['text_embed/word'] = xs[names.length];
        if (!describeHead && !groundHead && (deep === 0 || model.config.numLayers === 1)) {
          const logits = model.apply(over, batch, { embedding: 'onehot' });
          if (source.observe) pred = tf.keep(logits.argMax(1));
          return crossEntropy(logits, labels);
        }
        const out = forwardPerBlock(model, over, batch);
        const qa = (l: tf.Tensor2D) => (describeHead ? l.slice([0, 0], [n, -1]) : l);
        const logits = qa(out.logits[out.logits.length - 1]);
        if (source.observe) pred = tf.keep(logits.argMax(1));
        let loss = crossEntropy(logits, labels);
        if (deep > 0 && out.logits.length > 1) {
          const early = out.logits.slice(0, -1).map((l) => crossEntropy(qa(l), labels));
          loss = loss.add(tf.addN(early).mul(deep / early.length));
        }
        if (describeHead && targets) {
          const read =
            describe!.from === 'image-mean'
              ? (out.patches[out.patches.length - 1]
                  .slice([n, 0, 0], [nDescribe, -1, -1])
                  .mean(1) as tf.Tensor2D)
              : out.pooled.slice([n, 0], [nDescribe, -1]);
          const fit = tf
            .matMul(read, xs[names.length + 1] as tf.Tensor2D)
            .add(xs[names.length + 2]);
          loss = loss.add(tf.losses.meanSquaredError(targets, fit).mul(describe!.weight));
        }
        if (groundHead && ground && ground.count > 0) {
          const gi = (describeHead ? 3 : 1) + names.length;
          const [gw, gb] = [xs[gi] as tf.Tensor2D, xs[gi + 1]];
          const terms = out.patches.map((x) => {
            const rows = x.slice([0, 0, 0], [n, -1, -1]).reshape([-1, H]) as tf.Tensor2D;
            const logp = tf.logSoftmax(tf.matMul(rows, gw).add(gb));
            return tf.neg(tf.sum(tf.mul(ground.oneHot, logp)));
          });
          loss = loss.add(tf.addN(terms).mul(grounding!.weight / (terms.length * ground.count)));
        }
        return loss as tf.Scalar;
      })(order);
      if (pred) {
        const p = (pred as tf.Tensor).dataSync();
        const y = labels.dataSync();
        source.observe?.(
          samples,
          Array.from(p, (v, i) => v === y[i]),
        );
        (pred as tf.Tensor).dispose();
      }
      const named: Record<string, tf.Tensor> = { __word: grads[names.length] };
      names.forEach((n, i) => (named[n] = grads[i]));
      const stepVars: Record<string, tf.Variable> = { ...vars, __word: table };
      if (describeHead) {
        named.__describe_w = grads[names.length + 1];
        named.__describe_b = grads[names.length + 2];
        stepVars.__describe_w = describeHead.w;
        stepVars.__describe_b = describeHead.b;
        labels.dispose();
      }
      targets?.dispose();
      if (groundHead) {
        const gi = names.length + (describeHead ? 3 : 1);
        named.__ground_w = grads[gi];
        named.__ground_b = grads[gi + 1];
        stepVars.__ground_w = groundHead.w;
        stepVars.__ground_b = groundHead.b;
      }
      ground?.oneHot.dispose();
      const rate = pretrainLr(lr, step, opts.steps, warmup);
      opt.step(stepVars, named, rate);
      const loss = (await value.data())[0];
      tf.dispose([value, ...grads]);
      disposeBatch(batch);
      if (!Number.isFinite(loss)) throw new Error(`pretrainBase: loss is ${loss} at step ${step}`);
      tail.push(loss);
      if (tail.length > 50) tail.shift();
      await opts.onProgress?.({ step: step + 1, steps: opts.steps, loss, lr: rate });
      if (
        opts.snapshotEvery &&
        opts.onSnapshot &&
        (step + 1) % opts.snapshotEvery === 0 &&
        step + 1 < opts.steps
      ) {
        writeBack();
        await opts.onSnapshot(step + 1);
      }
    }
    writeBack();
    return {
      seconds: (performance.now() - t0) / 1000,
      finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
      usedWords: used.length,
    };
  } finally {
    opt.dispose();
    tf.dispose([...Object.values(vars), table]);
    if (describeHead) tf.dispose([describeHead.w, describeHead.b]);
    if (groundHead) tf.dispose([groundHead.w, groundHead.b]);
    if (all) disposeBatch(all);
  }
}
