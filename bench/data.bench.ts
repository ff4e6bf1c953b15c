// Synthetic data set: generation speed, sizes, text-only baselines per client, and how much
// class signal the pixels carry (nearest centroid) as the difficulty knob rises.
import {
  CLIENT_NAMES,
  DEFAULT_DIFFICULTY,
  SUBSETS,
  SUBSET_NAMES,
  majorityBaseline,
  nearestCentroidAccuracy,
  syntheticClient,
  syntheticSubsetArrays,
} from '../packages/core/src/data/index.js';
import type { BenchResult } from './types.js';

export async function run(): Promise<BenchResult> {
  const rows: Record<string, unknown>[] = [];
  for (const name of CLIENT_NAMES) {
    const t0 = performance.now();
    const d = syntheticClient(name, { seed: 1 });
    const ms28 = performance.now() - t0;
    const t1 = performance.now();
    syntheticClient(name, { seed: 1, size: 64 });
    const ms64 = performance.now() - t1;
    const b = majorityBaseline(d.train, d.test);
    rows.push({
      kind: 'client',
      name,
      train: d.train.length,
      test: d.test.length,
      answers: new Set([...d.train, ...d.test].map((s) => s.answer)).size,
      majorityAcc: +b.accuracy.toFixed(3),
      questionPriorAcc: +b.questionPriorAccuracy.toFixed(3),
      ms28: Math.round(ms28),
      ms64: Math.round(ms64),
    });
  }
  const difficulties = [0, 0.15, DEFAULT_DIFFICULTY, 0.6, 0.9];
  for (const subset of SUBSET_NAMES) {
    const row: Record<string, unknown> = {
      kind: 'subset',
      name: subset,
      classes: SUBSETS[subset].labels.length,
    };
    for (const difficulty of difficulties) {
      const r = nearestCentroidAccuracy(
        syntheticSubsetArrays(subset, { seed: 1, count: 600, difficulty }),
        syntheticSubsetArrays(subset, { seed: 2, count: 300, difficulty }),
      );
      row[`ncc@${difficulty}`] = +r.accuracy.toFixed(3);
      row.majority = +r.majority.toFixed(3);
    }
    rows.push(row);
  }
  return {
    name: 'data',
    rows,
    notes: [
      'client rows: default synthetic clients (scale 0.003, floor 200, 28 px); majorityAcc answers the most frequent ' +
        'train answer, questionPriorAcc the most frequent answer per question text (a text-only model).',
      'subset rows: nearest-centroid accuracy on raw pixels (600 train / 300 test) by difficulty; ChestMNIST is scored ' +
        'as any-finding vs none. The gap over `majority` is the class signal in the pixels.',
    ],
  };
}
