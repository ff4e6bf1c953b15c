// The 12 synthetic MedMNIST-like subsets as one labelled image set (label = subset index): the
// linear probe's data in bench/base.bench.ts and bench/diagnostics/base-diagnosis.ts.
import { SUBSET_NAMES, syntheticSubsetArrays } from '../../packages/core/src/data/index.js';
import type { SampleLike } from '../../packages/core/src/model/index.js';

export function subsetImages(
  count: number,
  seed: number,
): { samples: SampleLike[]; labels: number[] } {
  const samples: SampleLike[] = [];
  const labels: number[] = [];
  SUBSET_NAMES.forEach((subset, k) => {
    const a = syntheticSubsetArrays(subset, { seed, count });
    const px = a.size * a.size * a.channels;
    for (let i = 0; i < a.count; i++) {
      samples.push({
        image: a.images.subarray(i * px, (i + 1) * px),
        size: a.size,
        channels: a.channels as 1 | 3,
        question: '',
        answer: '',
        questionType: subset,
      });
      labels.push(k);
    }
  });
  return { samples, labels };
}
