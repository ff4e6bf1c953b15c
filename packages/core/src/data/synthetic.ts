// Synthetic MedMNIST-like data: the embedded default data set for tests, the simulator and
// the demo (./README.md). Arrays come out in the MedMNIST .npz layout and go through the
// same arrays -> VQA path (vqa.ts) as real files do.

import { gaussian, mulberry32 } from '../random.js';
import {
  CLIENTS,
  SUBSETS,
  clientInfo,
  labelWidth,
  splitCountBySubset,
  subsetInfo,
} from './medmnist.js';
import type { ClientName, SubsetName } from './medmnist.js';
import { Canvas } from './synthetic/canvas.js';
import {
  BLOOD,
  CT,
  DERMOSCOPY,
  FUNDUS,
  KIDNEY,
  OCT,
  PATHOLOGY,
  ULTRASOUND,
  XRAY,
  XRAY_PNEUMONIA,
  type Params,
  type Style,
} from './synthetic/styles.js';
import type { ClientData, MedMnistArrays } from './types.js';
import { clientFromArrays, hashString } from './vqa.js';

export const SUBSET_STYLES: Readonly<Record<SubsetName, Style>> = {
  pathmnist: PATHOLOGY,
  chestmnist: XRAY,
  dermamnist: DERMOSCOPY,
  octmnist: OCT,
  pneumoniamnist: XRAY_PNEUMONIA,
  retinamnist: FUNDUS,
  breastmnist: ULTRASOUND,
  bloodmnist: BLOOD,
  tissuemnist: KIDNEY,
  organamnist: CT,
  organcmnist: CT,
  organsmnist: CT,
};

/** Approximate NIH ChestX-ray14 prevalences of the 14 findings (ChestMNIST label order);
 * about half of the images have no finding, as in the real data. */
const CHEST_PREVALENCE = [
  0.1, 0.025, 0.12, 0.18, 0.05, 0.056, 0.013, 0.047, 0.042, 0.02, 0.022, 0.015, 0.03, 0.002,
];

export const DEFAULT_DIFFICULTY = 0.3;
export const DEFAULT_SIZE = 28;
export const MEDMNIST_SIZES = [28, 64, 128, 224] as const;

export interface SyntheticArraysOptions {
  seed: number;
  count: number;
  size?: number;
  /** 0 = clean prototypes, 1 = heavy noise, pose jitter and class overlap. */
  difficulty?: number;
  /** Class overlap and parameter jitter alone, in [0, 1] (default: `difficulty`). */
  overlap?: number;
  /** Pixel noise and pose jitter alone, in [0, 1] (default: `difficulty`). */
  noise?: number;
}

function checkCommon(size: number, difficulty: number, seed: number): void {
  if (!Number.isInteger(size) || size < 8 || size > 512) {
    throw new Error(
      `size must be an integer in [8, 512] (MedMNIST: 28, 64, 128, 224), got ${size}`,
    );
  }
  if (!(difficulty >= 0 && difficulty <= 1)) {
    throw new Error(`difficulty must be in [0, 1], got ${difficulty}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
}

/**
 * Parameters of one sample: base + (1-w)·delta[c] + w·delta[k] for each present class c and a
 * random other class k, w ~ U(0, overlap) (class overlap), plus Gaussian jitter.
 */
function sampleParams(
  style: Style,
  present: number[],
  rand: () => number,
  overlap: number,
): Params {
  const p: Params = { ...style.base };
  const nClasses = style.classes.length;
  for (const c of present) {
    const w = overlap * rand();
    let k = Math.floor(rand() * (nClasses - 1));
    if (k >= c) k += 1;
    for (const [key, v] of Object.entries(style.classes[c])) p[key] += (1 - w) * v;
    for (const [key, v] of Object.entries(style.classes[k])) p[key] += w * v;
  }
  for (const [key, sd] of Object.entries(style.jitter))
    p[key] += sd * (0.5 + 1.5 * overlap) * gaussian(rand);
  return p;
}

/** A MedMNIST-format split of synthetic images for one subset (balanced classes, except
 * ChestMNIST whose 14 findings are drawn independently at realistic prevalences). */
export function syntheticSubsetArrays(
  subset: SubsetName,
  opts: SyntheticArraysOptions,
): MedMnistArrays {
  const info = subsetInfo(subset);
  const size = opts.size ?? DEFAULT_SIZE;
  const difficulty = opts.difficulty ?? DEFAULT_DIFFICULTY;
  checkCommon(size, difficulty, opts.seed);
  const overlap = opts.overlap ?? difficulty;
  const noise = opts.noise ?? difficulty;
  if (!(overlap >= 0 && overlap <= 1)) throw new Error(`overlap must be in [0, 1], got ${overlap}`);
  if (!(noise >= 0 && noise <= 1)) throw new Error(`noise must be in [0, 1], got ${noise}`);
  if (!Number.isInteger(opts.count) || opts.count < 0) {
    throw new Error(`count must be a non-negative integer, got ${opts.count}`);
  }
  const style = SUBSET_STYLES[subset];
  const width = labelWidth(subset);
  const pixels = size * size * info.channels;
  const images = new Uint8Array(opts.count * pixels);
  const labels = new Uint8Array(opts.count * width);
  const rand = mulberry32((opts.seed ^ hashString(subset)) >>> 0);
  const canvas = new Canvas(size, info.channels);
  for (let i = 0; i < opts.count; i++) {
    let present: number[];
    if (info.task === 'multi-label') {
      present = CHEST_PREVALENCE.map((q, j) => (rand() < q ? j : -1)).filter((j) => j >= 0);
      for (const j of present) labels[i * width + j] = 1;
    } else {
      const c = Math.floor(rand() * info.labels.length);
      labels[i] = c;
      present = [c];
    }
    const p = sampleParams(style, present, rand, overlap);
    const shift = 0.02 + 0.06 * noise;
    canvas.pose = {
      dx: shift * (2 * rand() - 1),
      dy: shift * (2 * rand() - 1),
      scale: 1 + (0.04 + 0.1 * noise) * (2 * rand() - 1),
      angle: (0.05 + 0.25 * noise) * (2 * rand() - 1),
    };
    canvas.data.fill(0);
    style.render(canvas, p, rand, { view: info.view });
    canvas.toBytes(rand, 0.02 + 0.18 * noise, images.subarray(i * pixels, (i + 1) * pixels));
  }
  return { images, labels, count: opts.count, size, channels: info.channels, labelWidth: width };
}

export interface SyntheticClientOptions {
  seed: number;
  /** Fraction of the paper's triplet count (docs/method.md §5) to generate. */
  scale?: number;
  /** Minimum samples per client (small clients such as ultrasound stay usable). */
  floor?: number;
  size?: number;
  difficulty?: number;
  overlap?: number;
  noise?: number;
  testFraction?: number;
}

/** Defaults: a few hundred samples per client (200 .. ~700 at 28 px). */
export const DEFAULT_SCALE = 0.003;
export const DEFAULT_FLOOR = 200;

/** Total synthetic samples of a client: max(floor, round(paperCount · scale)). */
export function syntheticClientSize(
  name: ClientName,
  opts: { scale?: number; floor?: number } = {},
): number {
  const scale = opts.scale ?? DEFAULT_SCALE;
  const floor = opts.floor ?? DEFAULT_FLOOR;
  if (!(scale >= 0)) throw new Error(`scale must be >= 0, got ${scale}`);
  if (!Number.isInteger(floor) || floor < 0)
    throw new Error(`floor must be a non-negative integer, got ${floor}`);
  return Math.max(floor, Math.round(clientInfo(name).paperCount * scale));
}

/** A synthetic client's 80/20 train/test triplets (docs/interfaces.md). */
export function syntheticClient(name: ClientName, opts: SyntheticClientOptions): ClientData {
  const total = syntheticClientSize(name, opts);
  const perSubset = splitCountBySubset(name, total);
  const arrays: Partial<Record<SubsetName, MedMnistArrays[]>> = {};
  for (const subset of CLIENTS[clientInfo(name).name].subsets) {
    arrays[subset] = [
      syntheticSubsetArrays(subset, {
        seed: opts.seed,
        count: perSubset.get(subset) ?? 0,
        size: opts.size,
        difficulty: opts.difficulty,
        overlap: opts.overlap,
        noise: opts.noise,
      }),
    ];
  }
  return clientFromArrays(name, arrays, { seed: opts.seed, testFraction: opts.testFraction });
}

/** Label names of a subset in class order (convenience for UIs). */
export function classNames(subset: SubsetName): readonly string[] {
  return SUBSETS[subset].labels;
}
