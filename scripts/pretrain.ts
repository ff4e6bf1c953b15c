// Pretrains a base (`tiny` or `small`) on the generic synthetic shapes task (packages/core/src/
// train/shapes-task.ts: shapes, colours, counts, absolute and relative positions, sizes, line /
// checker / blob textures, grey and colour), seeded, on the wasm backend, with fresh samples
// every step, a noise curriculum, linear warm-up and cosine decay. Writes the int8 base
// checkpoint and, beside it, a JSON report: pretraining CPU seconds and held-out accuracy per
// question type, fp32 vs int8, against chance and the majority answer of each type.
// `small` (12 blocks) starts from a trained `tiny` checkpoint stacked to 12 blocks (train/
// grow.ts) unless --init names a 12-block checkpoint. The whole chain of phases that made the
// committed bases is scripts/pretrain-recipe.ts. Usage:
//   pnpm exec tsx scripts/pretrain.ts [--preset tiny|small] [--steps 1500] [--batch 64]
//     [--lr 3e-3] [--seed 1] [--test 1200] [--init checkpoint.safetensors]
//     [--snapshot-every 250] [--adaptive on|off] [--only-types position,relation]
//     [--position-amplitude 0.3] [--position-frequencies geometric|linear] [--curriculum 0.3]
//     [--warmup 0.05] [--deep-supervision 0] [--describe-weight 0] [--describe-fraction 0.25]
//     [--describe-from pooled|image-mean] (what the describe head reads, train/pretrain.ts)
//     [--binding 0] (weight of the stepping-stone question types, shapes-task.ts)
//     [--grounding-weight 0] (patch grounding objective, train/pretrain.ts)
//     [--out packages/core/assets/<preset>-base.safetensors]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createModel,
  frozenBytes,
  loadModel,
  numPatches,
  resolveConfig,
  saveModel,
  type VqaModel,
} from '../packages/core/src/model/index.js';
import { basePaths, initNodeBackend } from '../packages/core/src/node/index.js';
import {
  evaluate,
  pretrainBase,
  pretrainLr,
  shapesBaselines,
  shapesSource,
  shapesTask,
  sincosImagePositions,
  stackBlocks,
  SHAPES_ANSWERS,
  BINDING_QUESTION_TYPES,
  PRETRAIN_QUESTION_TYPES,
  type ShapesQuestionType,
} from '../packages/core/src/train/index.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}
function num(name: string, def: number): number {
  const raw = flag(name);
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${raw}`);
  return v;
}
const preset = flag('preset') ?? 'tiny';
if (preset !== 'tiny' && preset !== 'small')
  throw new Error(`--preset must be tiny or small, got "${preset}"`);
const paths = basePaths(preset);
const out = flag('out') ?? paths.checkpoint;
const report = out.replace(/\.safetensors$/, '.json');
const steps = num('steps', preset === 'tiny' ? 1500 : 600);
const batchSize = num('batch', 64);
const lr = num('lr', 3e-3);
const seed = num('seed', 1);
const nTest = num('test', 1200);
const warmupFraction = num('warmup', 0.05);
const curriculumFraction = num('curriculum', 0.3);
const positionAmplitude = num('position-amplitude', 0.3);
const positionFrequencies = flag('position-frequencies') ?? 'geometric';
if (positionFrequencies !== 'geometric' && positionFrequencies !== 'linear')
  throw new Error(
    `--position-frequencies must be geometric or linear, got "${positionFrequencies}"`,
  );
const snapshotEvery = num('snapshot-every', 250);
const deepSupervision = num('deep-supervision', 0);
const describeWeight = num('describe-weight', 0);
const describeFraction = num('describe-fraction', 0.25);
const describeFrom = flag('describe-from') ?? 'pooled';
if (describeFrom !== 'pooled' && describeFrom !== 'image-mean')
  throw new Error(`--describe-from must be pooled or image-mean, got "${describeFrom}"`);
const bindingWeight = num('binding', 0);
const groundingWeight = num('grounding-weight', 0);
const init = flag('init') ?? (preset === 'small' ? basePaths('tiny').checkpoint : undefined);

const backend = await initNodeBackend('wasm');
// Training batches are drawn fresh from `seed`; the held-out set uses another seed, and the
// majority answers per type are taken from a separate sample of the training distribution.
const test = shapesTask(nTest, seed + 1_000_003);
// The stepping-stone types (asked only with --binding > 0) are scored on a held-out set of
// their own, so that the eight held-out types' set stays the same whatever the recipe.
const bindingOnly = Object.fromEntries(
  PRETRAIN_QUESTION_TYPES.map((t) => [
    t,
    (BINDING_QUESTION_TYPES as readonly string[]).includes(t) ? 1 : 0,
  ]),
);
if (bindingWeight > 0)
  test.push(...shapesTask(Math.round(nTest / 4), seed + 3_000_003, { typeWeights: bindingOnly }));
const baselines = shapesBaselines(
  [
    ...shapesTask(4000, seed + 2_000_003),
    ...(bindingWeight > 0 ? shapesTask(1000, seed + 4_000_003, { typeWeights: bindingOnly }) : []),
  ],
  test,
);
const config = resolveConfig(preset);

let model: VqaModel;
let initNote: string;
let priorCpuSeconds = 0;
if (init) {
  if (!existsSync(init)) throw new Error(`--init: no checkpoint at ${init}`);
  const start = loadModel(new Uint8Array(readFileSync(init)), { seed, weights: 'fp32' });
  if (start.answers.join('\n') !== SHAPES_ANSWERS.join('\n'))
    throw new Error(`--init: ${init} does not answer the shapes task (its head has other answers)`);
  const priorReport = init.replace(/\.safetensors$/, '.json');
  if (existsSync(priorReport))
    priorCpuSeconds =
      (JSON.parse(readFileSync(priorReport, 'utf8')) as { cpuSeconds?: number }).cpuSeconds ?? 0;
  if (start.config.numLayers === config.numLayers) {
    model = start;
    initNote = `continued from ${init}`;
  } else {
    model = stackBlocks(start, config, seed);
    start.dispose();
    initNote = `stacked from ${init} (block j <- block floor(j * ${start.config.numLayers} / ${config.numLayers}))`;
  }
} else {
  model = createModel(preset, { seed, answers: SHAPES_ANSWERS });
  const g = Math.sqrt(numPatches(model.config));
  model.setParams({
    'image_embed/position': {
      shape: [g * g + 1, model.config.hidden],
      data: sincosImagePositions(g, model.config.hidden, positionAmplitude, positionFrequencies),
    },
  });
  initNote = `fresh (seed ${seed}), 2-D sin-cos image positions (${positionFrequencies} frequencies) of amplitude ${positionAmplitude}`;
}
const cpu0 = process.cpuUsage();
const wall0 = performance.now();

function perType(r: Awaited<ReturnType<typeof evaluate>>) {
  return Object.fromEntries(
    Object.entries(r.perType)
      .sort()
      .map(([k, v]) => [k, Math.round(v.accuracy * 10000) / 10000]),
  );
}

async function writeOut(step: number, final: boolean): Promise<void> {
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = (performance.now() - wall0) / 1000;
  const bytes = saveModel(model, { include: 'base' });
  writeFileSync(out, bytes);
  const fp32 = await evaluate(model, test);
  const q = loadModel(bytes, { seed });
  const int8 = await evaluate(q, test);
  q.dispose();
  const fb = frozenBytes(model.config);
  const types = Object.keys(baselines).sort();
  const summary = {
    task: 'shapes v2: shape, colour, count, position, relation, size, pattern, yes/no; 28x28 grey and RGB',
    preset,
    seed,
    init: initNote,
    steps: step,
    final,
    batchSize,
    lr,
    schedule: `linear warm-up ${warmupFraction} of the steps, cosine decay to 2 %`,
    deepSupervision:
      deepSupervision > 0
        ? `answer read after every block, mean cross-entropy of blocks 1..L-1 weighted ${deepSupervision}`
        : 'off',
    describe:
      describeWeight > 0
        ? `${describeFraction} of each batch's images also asked the probe question; ${describeFrom === 'pooled' ? 'pooled features' : "the last block's mean image-patch token"} regress their 4x4-cell statistics (mean RGB, luminance deviation, |dx|, |dy|), MSE weighted ${describeWeight}`
        : 'off',
    grounding:
      groundingWeight > 0
        ? `patch tokens after every block classified as first-named object / second-named / neither for questions naming objects, cross-entropy weighted ${groundingWeight}`
        : 'off',
    bindingTypes:
      bindingWeight > 0
        ? `stepping-stone types (${BINDING_QUESTION_TYPES.join(', ')}) asked with weight ${bindingWeight} x a held-out type's`
        : 'off',
    curriculum: `noise and jitter ramp from 0 to 1 over the first ${curriculumFraction} of the steps; ${adaptiveTypes ? 'adaptive question-type mix (weight 0.2 + 1 - running training accuracy)' : 'equal question-type mix'}${onlyTypes ? `; only ${onlyTypes.join(', ')} questions` : ''}`,
    samplesSeen: step * batchSize,
    heldOutSamples: test.length,
    backend,
    cpuSeconds: priorCpuSeconds + cpuSeconds,
    cpuSecondsThisRun: cpuSeconds,
    cpuSecondsPerStep: cpuSeconds / step,
    wallSecondsThisRun: wallSeconds,
    heldOutAccuracyFp32: fp32.accuracy,
    heldOutAccuracyInt8: int8.accuracy,
    heldOutLossFp32: fp32.loss,
    heldOutLossInt8: int8.loss,
    perType: Object.fromEntries(
      types.map((t) => [
        t,
        {
          fp32: perType(fp32)[t],
          int8: perType(int8)[t],
          chance: Math.round(baselines[t].chance * 10000) / 10000,
          majority: Math.round(baselines[t].majority * 10000) / 10000,
          n: baselines[t].n,
        },
      ]),
    ),
    checkpointBytes: bytes.length,
    frozenBytesInt8: fb.int8,
    frozenBytesFp32: fb.fp32,
  };
  writeFileSync(report, JSON.stringify(summary, null, 2) + '\n');
  console.log(
    JSON.stringify({
      step,
      fp32: fp32.accuracy,
      int8: int8.accuracy,
      perType: perType(int8),
      cpuSeconds,
    }),
  );
}

const adaptiveTypes = flag('adaptive') !== 'off';
const onlyTypes = flag('only-types')?.split(',') as ShapesQuestionType[] | undefined;
const source = shapesSource(seed, {
  curriculumFraction,
  adaptiveTypes,
  onlyTypes,
  bindingWeight,
});
const r = await pretrainBase(model, source, {
  steps,
  batchSize,
  lr,
  warmupFraction,
  seed,
  deepSupervision,
  describe:
    describeWeight > 0
      ? { weight: describeWeight, fraction: describeFraction, from: describeFrom }
      : undefined,
  grounding: groundingWeight > 0 ? { weight: groundingWeight } : undefined,
  snapshotEvery,
  onSnapshot: (step) => writeOut(step, false),
  onProgress: (p) => {
    if (p.step % 25 === 0)
      console.log(
        `step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} lr ${pretrainLr(lr, p.step - 1, steps, warmupFraction).toExponential(2)} train acc ${Object.entries(
          source.typeAccuracy?.() ?? {},
        )
          .map(([t, a]) => `${t} ${a.toFixed(2)}`)
          .join(' ')}`,
      );
  },
});
console.log(`pretrained in ${r.seconds.toFixed(0)} s wall, ${r.usedWords} words in the table`);
await writeOut(steps, true);
model.dispose();
