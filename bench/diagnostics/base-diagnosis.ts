// Why a pretrained base misses question types, and what its pooled features lose
// (packages/core/src/model/README.md, "What the diagnosis ... found"):
//   1. per block: a linear probe (train/probe.ts) of the corner of a single object and of the
//      relation answer from the first token's hidden state (what the pooler reads);
//   2. yes/no: held-out accuracy per question form and truth (a form answered with one answer
//      scores ~100 % on one truth and ~0 % on the other);
//   3. the 12-subset probe: pooled features vs the describe targets (train/image-stats.ts) and
//      raw pixels, and the probe's most frequent confusions.
//   pnpm exec tsx bench/diagnostics/base-diagnosis.ts <checkpoint.safetensors | fresh> ...
import { readFileSync } from 'node:fs';
import { SUBSET_NAMES } from '../../packages/core/src/data/index.js';
import {
  createModel,
  disposeBatch,
  encodeBatch,
  loadModel,
  type SampleLike,
  type VqaModel,
} from '../../packages/core/src/model/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import { subsetImages } from '../lib/subset-images.js';
import {
  CORNERS,
  evaluate,
  imageStatistics,
  linearProbe,
  pooledFeatures,
  RELATIONS,
  shapesTask,
  SHAPES_QUESTION_TYPES,
  type ShapesQuestionType,
} from '../../packages/core/src/train/index.js';

await initNodeBackend('wasm');
const pct = (x: number) => Math.round(x * 1000) / 10;
const only = (t: ShapesQuestionType) =>
  Object.fromEntries(SHAPES_QUESTION_TYPES.map((u) => [u, u === t ? 1 : 0]));

/** First-token hidden state after each block (0 = the embeddings), [block][sample][hidden]. */
function firstTokens(m: VqaModel, samples: readonly SampleLike[]): number[][][] {
  const L = m.config.numLayers;
  const out: number[][][] = Array.from({ length: L + 1 }, () => []);
  for (let i = 0; i < samples.length; i += 100) {
    const b = encodeBatch(samples.slice(i, i + 100), {
      config: m.config,
      answers: m.answers,
      allowUnknownAnswers: true,
    });
    for (let k = 0; k <= L; k++) {
      const pre = m.forwardPrefix(b, k);
      for (const seq of pre.state.x.arraySync()) out[k].push(seq[0]);
      pre.state.x.dispose();
      pre.state.bias.dispose();
    }
    disposeBatch(b);
  }
  return out;
}

function perBlockProbe(m: VqaModel, type: 'position' | 'relation'): string {
  const classes: readonly string[] = type === 'position' ? CORNERS : RELATIONS;
  const tr = shapesTask(400, 5, { typeWeights: only(type) });
  const te = shapesTask(300, 6, { typeWeights: only(type) });
  const a = firstTokens(m, tr);
  const b = firstTokens(m, te);
  const y = (s: SampleLike[]) => s.map((x) => classes.indexOf(x.answer));
  return a
    .map((rows, k) => {
      const r = linearProbe(
        Float32Array.from(rows.flat()),
        y(tr),
        Float32Array.from(b[k].flat()),
        y(te),
      );
      return `${k}: ${pct(r.testAccuracy)}`;
    })
    .join(', ');
}

function yesNoForm(q: string): string {
  if (q.startsWith('are the objects')) return 'shape';
  if (q.startsWith('is there a')) return 'colour+shape';
  if (q.startsWith('are there')) return 'count';
  if (q.startsWith('is the shape in')) return 'corner';
  return /small|large/.test(q) ? 'size' : 'colour';
}

async function yesNoRows(m: VqaModel): Promise<string> {
  const test = shapesTask(900, 4242, { typeWeights: only('yesno') }).map((s) => ({
    ...s,
    questionType: `${yesNoForm(s.question)}/${s.answer}`,
  }));
  const r = await evaluate(m, test);
  return Object.entries(r.perType)
    .sort()
    .map(([k, v]) => `${k} ${pct(v.accuracy)} (${v.n})`)
    .join(', ');
}

// The bench's probe sets (bench/base.bench.ts): 60 train / 40 held-out images per subset.
const train = subsetImages(60, 1);
const test = subsetImages(40, 1001);

function subsetProbe(name: string, f: (s: readonly SampleLike[]) => Float32Array): void {
  const r = linearProbe(f(train.samples), train.labels, f(test.samples), test.labels);
  const conf = new Map<string, number>();
  r.testPredictions.forEach((p, i) => {
    if (p === test.labels[i]) return;
    const k = `${SUBSET_NAMES[test.labels[i]]} -> ${SUBSET_NAMES[p]}`;
    conf.set(k, (conf.get(k) ?? 0) + 1);
  });
  const top = [...conf].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(
    `  ${name}: ${pct(r.testAccuracy)} %; errors: ${top.map(([k, n]) => `${k} ${n}`).join(', ')}`,
  );
}

/** Grey images replicated to RGB, scaled to [0, 1]. */
function rawPixels(samples: readonly SampleLike[]): Float32Array {
  return Float32Array.from(
    samples.flatMap((s) =>
      Array.from({ length: s.size * s.size * 3 }, (_, j) =>
        s.channels === 1 ? s.image[Math.floor(j / 3)] / 255 : s.image[j] / 255,
      ),
    ),
  );
}

console.log('12 subsets, data only:');
subsetProbe('raw pixels', rawPixels);
subsetProbe('image statistics (the describe targets)', (s) =>
  Float32Array.from(s.flatMap((x) => Array.from(imageStatistics(x)))),
);
for (const path of process.argv.slice(2)) {
  const m =
    path === 'fresh'
      ? createModel('tiny', { seed: 1 })
      : loadModel(new Uint8Array(readFileSync(path)), { seed: 1 });
  console.log(`\n${path}`);
  console.log(`  corner from the first token, per block: ${perBlockProbe(m, 'position')}`);
  console.log(`  relation from the first token, per block: ${perBlockProbe(m, 'relation')}`);
  if (path !== 'fresh') console.log(`  yes/no per form / truth: ${await yesNoRows(m)}`);
  subsetProbe('pooled features', (s) => pooledFeatures(m, s));
  m.dispose();
}
