// The 12-subset probe of a frozen base under each feature definition and probe fit
// (packages/core/src/model/README.md, "The probe's features"): CLS pooler, mean image-patch
// tokens of the last block, mean image-patch tokens of every block concatenated; the probe at
// bench base's fixed settings (L2 1e-3, 300 full-batch steps) and with its L2 chosen by 4-fold
// cross-validation on the training images; train sizes of 60 images a subset (bench base's) and
// --more. Held-out: bench base's 40 images a subset (seed 1001). Prints the per-subset
// held-out accuracy of the best variant.
// `data` probes no model: raw pixels (grey replicated to 3 channels; the fixed probe only, the
// cross-validation is too slow at 2,352 dimensions) and the describe objective's targets
// (train/image-stats.ts), the same probes on the same images.
//   pnpm exec tsx bench/diagnostics/probe-variants.ts <checkpoint.safetensors | fresh-tiny |
//     fresh-small | data> [--more 240] [--steps 300] [--test 40] [--test-seed 1001]
// (--test 500 --test-seed 909091: probe-ceiling.ts's larger held-out set of the 12 subsets)
import { readFileSync } from 'node:fs';
import { SUBSET_NAMES } from '../../packages/core/src/data/index.js';
import { createModel, loadModel, type VqaModel } from '../../packages/core/src/model/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import {
  imageStatistics,
  imageTokenFeatures,
  linearProbe,
  pooledFeatures,
  tunedLinearProbe,
} from '../../packages/core/src/train/index.js';
import { subsetImages } from '../lib/subset-images.js';

const which = process.argv[2];
if (!which)
  throw new Error('usage: probe-variants.ts <checkpoint | fresh-tiny | fresh-small | data>');
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
};
const MORE = arg('more', 240);
const STEPS = arg('steps', 300);
const TEST = arg('test', 40);
const TEST_SEED = arg('test-seed', 1001);
await initNodeBackend('wasm');
const m: VqaModel =
  which === 'fresh-tiny' || which === 'fresh-small' || which === 'data'
    ? createModel(which === 'fresh-small' ? 'small' : 'tiny', { seed: 1 })
    : loadModel(new Uint8Array(readFileSync(which)), { seed: 1 });
const pct = (x: number) => Math.round(x * 1000) / 10;

type Samples = Parameters<typeof pooledFeatures>[1];
const pixels = (s: Samples) =>
  Float32Array.from(
    s.flatMap((x) =>
      Array.from({ length: x.size * x.size * 3 }, (_, k) =>
        x.channels === 3 ? x.image[k] / 255 : x.image[Math.floor(k / 3)] / 255,
      ),
    ),
  );
const dataFeatures = {
  'raw-pixels': pixels,
  'image-statistics': (s: Samples) =>
    Float32Array.from(s.flatMap((x) => Array.from(imageStatistics(x)))),
};
const modelFeatures = {
  'cls-pooler': (s: Parameters<typeof pooledFeatures>[1]) => pooledFeatures(m, s),
  'image-mean-last': (s: Parameters<typeof pooledFeatures>[1]) => imageTokenFeatures(m, s),
  'image-mean-per-block': (s: Parameters<typeof pooledFeatures>[1]) =>
    imageTokenFeatures(m, s, { blocks: 'all' }),
};
const features = which === 'data' ? dataFeatures : modelFeatures;
const test = subsetImages(TEST, TEST_SEED);
let best = { acc: 0, name: '', pred: [] as number[] };
for (const perSubset of [60, MORE]) {
  const train = subsetImages(perSubset, 1);
  for (const [name, f] of Object.entries(features)) {
    const t0 = performance.now();
    const a = f(train.samples);
    const b = f(test.samples);
    const fixed = linearProbe(a, train.labels, b, test.labels, { steps: STEPS });
    const tuned =
      name === 'raw-pixels'
        ? { ...fixed, l2: 1e-3, validation: [] }
        : tunedLinearProbe(a, train.labels, b, test.labels, { steps: STEPS });
    const row = {
      features: name,
      dim: a.length / train.labels.length,
      trainPerSubset: perSubset,
      fixed: `train ${pct(fixed.trainAccuracy)} held-out ${pct(fixed.testAccuracy)}`,
      tuned: `l2 ${tuned.l2} train ${pct(tuned.trainAccuracy)} held-out ${pct(tuned.testAccuracy)}`,
      validation: tuned.validation.map((v) => `${v.l2}:${pct(v.accuracy)}`).join(' '),
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    console.log(JSON.stringify(row));
    if (tuned.testAccuracy > best.acc)
      best = { acc: tuned.testAccuracy, name: `${name} ${perSubset}`, pred: tuned.testPredictions };
  }
}
const per = SUBSET_NAMES.map((s, k) => {
  const idx = test.labels.flatMap((y, i) => (y === k ? [i] : []));
  const right = idx.filter((i) => best.pred[i] === k).length;
  const wrong = new Map<string, number>();
  for (const i of idx)
    if (best.pred[i] !== k)
      wrong.set(SUBSET_NAMES[best.pred[i]], (wrong.get(SUBSET_NAMES[best.pred[i]]) ?? 0) + 1);
  return `${s} ${right}/${idx.length}${wrong.size ? ` (${[...wrong].map(([n, c]) => `${n} ${c}`).join(', ')})` : ''}`;
});
console.log(`best: ${best.name} ${pct(best.acc)} %\n  ${per.join('\n  ')}`);
m.dispose();
