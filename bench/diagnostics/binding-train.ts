// Can the model bind a word named in the question to the patches it describes? Trains a model
// (fresh, or a checkpoint) on one or a few question types only and prints held-out accuracy
// (600 questions of an unseen seed) every 100 steps (packages/core/src/model/README.md,
// "Why relation stays at the layout's 50 %"). Types: a shapes-task type, or
//   findcolour       "where is the <colour> shape?" (2-4 shapes of distinct colours; chance 25 %)
//   attributecolour  "what colour is the shape in the <corner>?" (chance 1/6)
//   pnpm exec tsx bench/diagnostics/binding-train.ts [--types findcolour] [--blocks 4]
//     [--steps 300] [--lr 2e-3] [--batch 64] [--seed 1] [--amp 0] [--grounding 0]
//     [--deep 0] [--init <checkpoint> [--pos-scale 1]] [--kernels on|off]
// --amp a: a fresh model's image positions are 2-D sin-cos of amplitude a (0: the seeded
// N(0, 0.02) init); --pos-scale k: a checkpoint's image position rows, centred over the
// patches, times k; --grounding w: pretraining's patch grounding objective (train/pretrain.ts).
import { readFileSync } from 'node:fs';
import {
  createModel,
  disposeBatch,
  encodeBatch,
  loadModel,
  useExplicitMatMulGradient,
  useFusedKernels,
  useWasmKernels,
  type SampleLike,
  type VqaModel,
} from '../../packages/core/src/model/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import {
  pretrainBase,
  PRETRAIN_QUESTION_TYPES,
  shapesQuestionTexts,
  shapesTask,
  sincosImagePositions,
  SHAPES_ANSWERS,
  type PretrainSource,
} from '../../packages/core/src/train/index.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
};
const blocks = Number(arg('blocks', '4'));
const steps = Number(arg('steps', '300'));
const lr = Number(arg('lr', '2e-3'));
const bs = Number(arg('batch', '64'));
const seed = Number(arg('seed', '1'));
const init = arg('init', 'fresh');
const deep = Number(arg('deep', '0'));
const grounding = Number(arg('grounding', '0'));
const amp = Number(arg('amp', '0'));
const types = arg('types', 'findcolour').split(',');

await initNodeBackend('wasm');
if (arg('kernels', 'on') === 'off') {
  useFusedKernels(false);
  useWasmKernels(false);
  useExplicitMatMulGradient(false);
}

/** The sub-type a sample counts under. */
function kind(s: SampleLike): string {
  if (s.questionType === 'find' && s.question.endsWith(' shape?')) return 'findcolour';
  if (s.questionType === 'attribute' && s.question.startsWith('what colour'))
    return 'attributecolour';
  return s.questionType;
}
const weights = Object.fromEntries(
  PRETRAIN_QUESTION_TYPES.map((t) => [
    t,
    t === 'find' || t === 'attribute' || types.includes(t) ? 1 : 0,
  ]),
);
/** `n` samples of the asked kinds (drawn from the task, the others filtered out). */
function draw(n: number, sd: number, difficulty = 1): SampleLike[] {
  const out: SampleLike[] = [];
  for (let k = 0; out.length < n; k++)
    for (const s of shapesTask(n * 3, (sd + k * 7919) >>> 0, { typeWeights: weights, difficulty }))
      if (types.includes(kind(s)) && out.length < n) out.push(s);
  return out;
}
// Pretraining's noise curriculum: clean images first, the held-out setting after 30 %.
const source: PretrainSource = {
  questions: shapesQuestionTexts(),
  batch: (n, step, total) => draw(n, seed * 100003 + step, Math.min(1, step / (0.3 * total))),
};

let model: VqaModel;
if (init === 'fresh') {
  const tiny = createModel('tiny', { seed, answers: SHAPES_ANSWERS });
  model = createModel({ ...tiny.config, numLayers: blocks }, { seed, answers: SHAPES_ANSWERS });
  tiny.dispose();
  if (amp > 0) {
    const g = model.config.imageSize / model.config.patchSize;
    const data = sincosImagePositions(g, model.config.hidden, amp);
    model.setParams({ 'image_embed/position': { shape: [g * g + 1, model.config.hidden], data } });
  }
} else {
  model = await loadModel(new Uint8Array(readFileSync(init)), { weights: 'fp32' });
  const k = Number(arg('pos-scale', '1'));
  if (k !== 1) {
    const pos = model.getParams(['image_embed/position'])['image_embed/position'];
    const H = model.config.hidden;
    const N = pos.shape[0] - 1;
    for (let h = 0; h < H; h++) {
      let mean = 0;
      for (let i = 1; i <= N; i++) mean += pos.data[i * H + h] / N;
      for (let i = 1; i <= N; i++) pos.data[i * H + h] = mean + k * (pos.data[i * H + h] - mean);
    }
    model.setParams({ 'image_embed/position': pos });
  }
}

const test = draw(600, 987654);
function accuracy(m: VqaModel, samples: SampleLike[]): Record<string, number> {
  const right: Record<string, [number, number]> = {};
  for (let i = 0; i < samples.length; i += 100) {
    const chunk = samples.slice(i, i + 100);
    const b = encodeBatch(chunk, { config: m.config, answers: m.answers });
    const logits = m.apply({}, b);
    const am = logits.argMax(1);
    const pred = am.dataSync();
    const y = b.labels.dataSync();
    tfDispose([logits, am]);
    disposeBatch(b);
    chunk.forEach((s, j) => {
      const r = (right[kind(s)] ??= [0, 0]);
      r[0] += pred[j] === y[j] ? 1 : 0;
      r[1]++;
    });
  }
  const pct = ([a, n]: [number, number]) => Math.round((1000 * a) / n) / 10;
  return Object.fromEntries(Object.entries(right).map(([k, v]) => [k, pct(v)]));
}
function tfDispose(ts: { dispose(): void }[]) {
  for (const t of ts) t.dispose();
}

console.log(`${init}, ${model.config.numLayers} blocks, types ${types.join(',')}`);
const t0 = process.cpuUsage();
const r = await pretrainBase(model, source, {
  steps,
  batchSize: bs,
  lr,
  seed,
  deepSupervision: deep,
  grounding: grounding > 0 ? { weight: grounding } : undefined,
  snapshotEvery: 100,
  onSnapshot: (step) => console.log(`step ${step}`, JSON.stringify(accuracy(model, test))),
});
const cpu = process.cpuUsage(t0);
console.log(
  `step ${steps}`,
  JSON.stringify(accuracy(model, test)),
  `loss ${r.finalLoss.toFixed(3)}, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} CPU-s`,
);
