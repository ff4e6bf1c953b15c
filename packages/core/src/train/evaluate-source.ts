// Held-out evaluation over a SampleSource, one chunk in memory at a time (a full-size site's
// test split lives in IndexedDB). Same numbers as `evaluate` on the whole array.
import { chunksOf, type SampleSource } from '../data/sample-source.js';
import type { SampleLike } from '../model/batch.js';
import type { VqaModel } from '../model/vqa-model.js';
import { evaluate, type EvalResult } from './evaluate.js';

export async function evaluateSource(
  model: VqaModel,
  source: SampleSource<SampleLike>,
  opts: { chunk?: number; limit?: number } & Parameters<typeof evaluate>[2] = {},
): Promise<EvalResult> {
  if (source.length === 0) throw new Error('evaluate: samples is empty');
  let n = 0;
  let correct = 0;
  let lossSum = 0;
  const per: Record<string, { correct: number; n: number }> = {};
  const { chunk: size, limit, ...evalOpts } = opts;
  for await (const chunk of chunksOf(source, size ?? 512, limit)) {
    const r = await evaluate(model, chunk, evalOpts);
    n += r.n;
    correct += r.accuracy * r.n;
    lossSum += r.loss * r.n;
    for (const [t, v] of Object.entries(r.perType)) {
      const acc = (per[t] ??= { correct: 0, n: 0 });
      acc.correct += v.accuracy * v.n;
      acc.n += v.n;
    }
  }
  const perType: EvalResult['perType'] = {};
  for (const [t, v] of Object.entries(per))
    perType[t] = { accuracy: Math.round(v.correct) / v.n, n: v.n };
  return { accuracy: Math.round(correct) / n, loss: lossSum / n, n, perType };
}
