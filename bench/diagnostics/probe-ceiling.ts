// The ceiling of the 12-subset probe (`pnpm bench base`, section probe): how well *any*
// classifier tells the synthetic MedMNIST-like subsets apart from their pixels. Classifiers far
// stronger than a linear probe on a base's 64 pooled features, trained on many more images:
//   1. all 12 subsets: logistic regression and a one-hidden-layer MLP on raw pixels;
//   2. the two groups that share a modality's style, alone: chestmnist / pneumoniamnist (one
//      X-ray style, packages/core/src/data/synthetic/styles.ts XRAY and XRAY_PNEUMONIA: adults
//      vs small children) and organamnist / organcmnist / organsmnist (one CT style in three
//      planes), an MLP on many images each; its accuracy per kind of image (chest with /
//      without a finding, pneumonia normal / pneumonia);
// all scored on the bench's own held-out images (40 per subset, seed 1001, as bench base) and on
// a larger held-out set. The generator is not changed; only images are drawn from it.
//   pnpm exec tsx bench/diagnostics/probe-ceiling.ts [--train 1500] [--group-train 5000]
//     [--test 500] [--epochs 30] [--out file.json]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  SUBSET_NAMES,
  syntheticSubsetArrays,
  type SubsetName,
} from '../../packages/core/src/data/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import { fitSoftmaxClassifier } from '../../packages/core/src/train/index.js';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const N_TRAIN = flag('train', 1500);
const N_GROUP = flag('group-train', 5000);
const N_TEST = flag('test', 500);
const EPOCHS = flag('epochs', 30);
const outIdx = process.argv.indexOf('--out');
const OUT = outIdx >= 0 ? process.argv[outIdx + 1] : undefined;
const TRAIN_SEED = 424_242; // neither the bench's probe train (1) nor test (1001) seed
const BIG_TEST_SEED = 909_091;
const BENCH_TEST_SEED = 1001;

await initNodeBackend('wasm');
const pct = (x: number) => Math.round(x * 1000) / 10;

/** Kind of an image: chest without / with a finding, pneumonia normal / pneumonia, or none. */
type Kind = 'chest-normal' | 'chest-finding' | 'pneumonia-normal' | 'pneumonia' | '';

interface ImageSet {
  x: Float32Array; // [n, 28 * 28 * 3] in [0, 1], grey replicated to 3 channels
  y: number[];
  kind: Kind[];
}

const D = 28 * 28 * 3;

/** `count` images of each of `subsets` (label = index in `subsets`) from `seed`. */
function draw(subsets: readonly SubsetName[], count: number, seed: number): ImageSet {
  const x = new Float32Array(subsets.length * count * D);
  const y: number[] = [];
  const kind: Kind[] = [];
  let row = 0;
  subsets.forEach((subset, k) => {
    const a = syntheticSubsetArrays(subset, { seed, count });
    if (a.size !== 28) throw new Error(`${subset}: expected 28 px, got ${a.size}`);
    const px = a.size * a.size;
    for (let i = 0; i < a.count; i++, row++) {
      for (let p = 0; p < px; p++)
        for (let c = 0; c < 3; c++)
          x[row * D + p * 3 + c] =
            a.images[(i * px + p) * a.channels + (a.channels === 3 ? c : 0)] / 255;
      y.push(k);
      const labels = a.labels.subarray(i * a.labelWidth, (i + 1) * a.labelWidth);
      kind.push(
        subset === 'chestmnist'
          ? labels.some((v) => v > 0)
            ? 'chest-finding'
            : 'chest-normal'
          : subset === 'pneumoniamnist'
            ? labels[0] > 0
              ? 'pneumonia'
              : 'pneumonia-normal'
            : '',
      );
    }
  });
  return { x, y, kind };
}

const accuracy = (p: readonly number[], y: readonly number[]) =>
  y.filter((v, i) => p[i] === v).length / y.length;

/** Accuracy per label and per image kind. */
function breakdown(p: number[], set: ImageSet, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const groups = new Map<string, number[]>();
  set.y.forEach((v, i) => {
    for (const key of [names[v], set.kind[i]].filter((s) => s))
      groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const [key, idx] of groups)
    out[`${key} (${idx.length})`] = pct(idx.filter((i) => p[i] === set.y[i]).length / idx.length);
  return out;
}

const rows: Record<string, unknown>[] = [];
const loadAtStart = loadavg().map((x) => x.toFixed(1));
const t0 = performance.now();
const cpu0 = process.cpuUsage();

// 1. All 12 subsets.
{
  const train = draw(SUBSET_NAMES, N_TRAIN, TRAIN_SEED);
  const benchTest = draw(SUBSET_NAMES, 40, BENCH_TEST_SEED);
  const bigTest = draw(SUBSET_NAMES, N_TEST, BIG_TEST_SEED);
  for (const [name, hidden, l2] of [
    ['logistic regression on pixels', 0, 1e-4],
    ['MLP (256 ReLU) on pixels', 256, 1e-5],
  ] as const) {
    const f = fitSoftmaxClassifier(train.x, train.y, D, { hidden, l2, epochs: EPOCHS, seed: 7 });
    const pb = f.predict(benchTest.x);
    const pBig = f.predict(bigTest.x);
    const row = {
      task: '12 subsets',
      classifier: name,
      trainImages: train.y.length,
      train: pct(f.trainAccuracy),
      benchHeldOut: pct(accuracy(pb, benchTest.y)),
      heldOut: pct(accuracy(pBig, bigTest.y)),
      heldOutImages: bigTest.y.length,
      perSubsetHeldOut: breakdown(pBig, bigTest, SUBSET_NAMES),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    f.dispose();
  }
}

// 2. The confusable groups alone, many images each.
for (const group of [
  ['chestmnist', 'pneumoniamnist'],
  ['organamnist', 'organcmnist', 'organsmnist'],
] as SubsetName[][]) {
  const train = draw(group, N_GROUP, TRAIN_SEED + 1);
  const benchTest = draw(group, 40, BENCH_TEST_SEED);
  const bigTest = draw(group, N_TEST * 4, BIG_TEST_SEED + 1);
  const f = fitSoftmaxClassifier(train.x, train.y, D, { hidden: 256, epochs: EPOCHS, seed: 11 });
  const pb = f.predict(benchTest.x);
  const pBig = f.predict(bigTest.x);
  const errorsPer40 = (1 - accuracy(pBig, bigTest.y)) * 40 * group.length;
  const row = {
    task: group.join(' / '),
    classifier: 'MLP (256 ReLU) on pixels',
    trainImages: train.y.length,
    train: pct(f.trainAccuracy),
    benchHeldOut: pct(accuracy(pb, benchTest.y)),
    heldOut: pct(accuracy(pBig, bigTest.y)),
    heldOutImages: bigTest.y.length,
    errorsPer40ImagesASubset: Math.round(errorsPer40 * 10) / 10,
    perKindHeldOut: breakdown(pBig, bigTest, group),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  f.dispose();
}

const cpu = process.cpuUsage(cpu0);
const result = {
  command:
    `pnpm exec tsx bench/diagnostics/probe-ceiling.ts ${process.argv.slice(2).join(' ')}`.trim(),
  wallSeconds: Math.round((performance.now() - t0) / 1000),
  cpuSeconds: Math.round((cpu.user + cpu.system) / 1e6),
  loadAverage: { start: loadAtStart, end: loadavg().map((x) => x.toFixed(1)) },
  rows,
};
if (OUT) writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
console.log(`done in ${result.wallSeconds} s wall, ${result.cpuSeconds} CPU-s`);
