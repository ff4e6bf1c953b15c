/**
 * Reference accuracies on the runs' own held-out sets (the project's standard: every learning
 * claim beside the majority answer): predicting the pooled training set's most frequent answer,
 * and its most frequent answer per question text (what a model learns from the question alone,
 * e.g. a head that ignores the image). Same data as the runs: the setting's sites for each
 * seed, test sets capped at maxTest as the simulator does.
 */
import { majorityBaseline, syntheticClient, type VqaSample } from '@focus-fl/core/data';
import { buildSettingSites } from '../settings.js';
import type { Setting, Spec } from '../spec.js';
import { mean } from './stats.js';

export interface References {
  majority: number;
  questionPrior: number;
  seeds: number;
}

export function settingReferences(
  spec: Spec,
  setting: Setting,
  seeds: readonly number[],
): References {
  const majority: number[] = [];
  const prior: number[] = [];
  for (const seed of seeds) {
    const built = buildSettingSites(setting, seed);
    const sites =
      built.sites ??
      built.clients!.map((name, i) => ({
        name,
        // the simulator's data seed for synthetic clients (seed x 1009 + index)
        data: syntheticClient(name, {
          seed: seed * 1009 + i,
          scale: spec.scale,
          floor: spec.floor,
        }),
      }));
    const train: VqaSample[] = [];
    const test: VqaSample[] = [];
    for (const s of sites) {
      train.push(...s.data.train);
      test.push(...(spec.maxTest ? s.data.test.slice(0, spec.maxTest) : s.data.test));
    }
    const b = majorityBaseline(train, test);
    majority.push(b.accuracy);
    prior.push(b.questionPriorAccuracy);
  }
  return { majority: mean(majority), questionPrior: mean(prior), seeds: seeds.length };
}
