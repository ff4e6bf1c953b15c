// Writes synthetic MedMNIST-format .npz files (official names and keys) for the browser
// import demo and e2e tests:
//   pnpm exec tsx scripts/make-synthetic-npz.ts --out DIR [--subsets pathmnist,octmnist]
//     [--count 120] [--size 28|64|128|224] [--seed 1] [--difficulty 0.3] [--stored]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_DIFFICULTY,
  MEDMNIST_IMAGE_SIZES,
  SUBSET_NAMES,
  subsetInfo,
  syntheticSubsetArrays,
  writeMedMnistNpz,
  type SubsetName,
} from '../packages/core/src/data/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    subsets: { type: 'string', default: SUBSET_NAMES.join(',') },
    count: { type: 'string', default: '120' },
    size: { type: 'string', default: '28' },
    seed: { type: 'string', default: '1' },
    difficulty: { type: 'string', default: String(DEFAULT_DIFFICULTY) },
    stored: { type: 'boolean', default: false },
  },
});

function fail(msg: string): never {
  console.error(`make-synthetic-npz: ${msg}`);
  process.exit(2);
}

if (!values.out) fail('--out DIR is required');
const size = Number(values.size);
if (!(MEDMNIST_IMAGE_SIZES as readonly number[]).includes(size)) {
  fail(`--size must be one of ${MEDMNIST_IMAGE_SIZES.join(', ')}, got ${values.size}`);
}
const count = Number(values.count);
if (!Number.isInteger(count) || count < 3)
  fail(`--count must be an integer >= 3, got ${values.count}`);
const seed = Number(values.seed);
const difficulty = Number(values.difficulty);
const subsets = (values.subsets as string).split(',').map((s) => {
  try {
    return subsetInfo(s.trim()).name;
  } catch (e) {
    return fail((e as Error).message);
  }
}) as SubsetName[];

mkdirSync(values.out, { recursive: true });
// MedMNIST's split proportions are roughly 70 / 10 / 20.
const nVal = Math.max(1, Math.round(count * 0.1));
const nTest = Math.max(1, Math.round(count * 0.2));
const nTrain = count - nVal - nTest;
for (const subset of subsets) {
  const make = (n: number, k: number) =>
    syntheticSubsetArrays(subset, { seed: seed * 3 + k, count: n, size, difficulty });
  const bytes = writeMedMnistNpz(
    { train: make(nTrain, 0), val: make(nVal, 1), test: make(nTest, 2) },
    { compress: !values.stored },
  );
  const file = join(values.out, size === 28 ? `${subset}.npz` : `${subset}_${size}.npz`);
  writeFileSync(file, bytes);
  console.log(`${file}\t${bytes.length} bytes\t${nTrain}/${nVal}/${nTest}`);
}
