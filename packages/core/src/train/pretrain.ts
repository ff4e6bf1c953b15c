// Pretraining of the base (everything but the adapters/LoRA units) plus the head on a generic
// task (shapes-task.ts). The word table is trained only on the rows the task's questions use:
// those rows are gathered into a compact table and looked up with a one-hot matmul (the wasm
// backend has no gradient for tf.gather), then written back; other rows keep their seeded init.
import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from '../random.js';
import { disposeBatch, encodeBatch, sliceBatch, type SampleLike } from '../model/batch.js';
import type { VqaModel } from '../model/vqa-model.js';
import { AdamW } from './adamw.js';
import { crossEntropy } from './loss.js';

export interface PretrainOptions {
  steps: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  warmupFraction?: number;
  seed: number;
  onProgress?: (p: { step: number; steps: number; loss: number }) => void | Promise<void>;
  /** Every `snapshotEvery` steps the current weights are written into the model and this runs. */
  snapshotEvery?: number;
  onSnapshot?: (step: number) => void | Promise<void>;
}

export async function pretrainBase(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: PretrainOptions,
): Promise<{ seconds: number; finalLoss: number; usedWords: number }> {
  if (samples.length === 0) throw new Error('pretrainBase: samples is empty');
  if (!Number.isInteger(opts.steps) || opts.steps <= 0)
    throw new Error(`pretrainBase: steps must be a positive integer, got ${opts.steps}`);
  const units = new Set(model.layerNames());
  const names = model
    .paramNames()
    .filter((n) => !units.has(n.split('/')[0]) && n !== 'text_embed/word');
  const all = encodeBatch(samples, { config: model.config, answers: model.answers });
  const ids = all.tokens.dataSync();
  const used = [...new Set(ids)].sort((a, b) => a - b);
  const compactOf = new Map(used.map((id, i) => [id, i]));
  const compactTokens = tf.tensor2d(
    Int32Array.from(ids, (id) => compactOf.get(id) as number),
    all.tokens.shape,
    'int32',
  );
  all.tokens.dispose();
  all.tokens = compactTokens;
  const H = model.config.hidden;
  const word = model.getParams(['text_embed/word'])['text_embed/word'].data;
  const rows = new Float32Array(used.length * H);
  used.forEach((id, i) => rows.set(word.subarray(id * H, (id + 1) * H), i * H));
  const table = tf.variable(tf.tensor2d(rows, [used.length, H]), true);
  const vars = Object.fromEntries(names.map((n) => [n, tf.variable(model.tensor(n), true)]));
  const order = [...names.map((n) => vars[n]), table];
  const opt = new AdamW({ lr: opts.lr ?? 2e-3, weightDecay: opts.weightDecay ?? 0.01 });
  const bs = Math.min(opts.batchSize ?? 32, samples.length);
  const warm = Math.floor((opts.warmupFraction ?? 0.05) * opts.steps);
  const lr = opts.lr ?? 2e-3;
  const rand = mulberry32(opts.seed);
  let perm: number[] = [];
  let cursor = 0;
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
      if (cursor + bs > perm.length) {
        perm = shuffleInPlace(
          Array.from({ length: samples.length }, (_, i) => i),
          rand,
        );
        cursor = 0;
      }
      const batch = sliceBatch(all, perm.slice(cursor, cursor + bs));
      cursor += bs;
      const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
        const over: Record<string, tf.Tensor> = { 'text_embed/word': xs[xs.length - 1] };
        names.forEach((n, i) => (over[n] = xs[i]));
        return crossEntropy(model.apply(over, batch, { embedding: 'onehot' }), batch.labels);
      })(order);
      const named: Record<string, tf.Tensor> = { __word: grads[grads.length - 1] };
      names.forEach((n, i) => (named[n] = grads[i]));
      // Cosine decay after a linear warm-up.
      const progress =
        step < warm
          ? (step + 1) / warm
          : 0.5 * (1 + Math.cos((Math.PI * (step - warm)) / Math.max(1, opts.steps - warm)));
      opt.step({ ...vars, __word: table }, named, lr * Math.max(progress, 0.02));
      const loss = (await value.data())[0];
      tf.dispose([value, ...grads]);
      disposeBatch(batch);
      if (!Number.isFinite(loss)) throw new Error(`pretrainBase: loss is ${loss} at step ${step}`);
      tail.push(loss);
      if (tail.length > 50) tail.shift();
      await opts.onProgress?.({ step: step + 1, steps: opts.steps, loss });
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
    disposeBatch(all);
  }
}
