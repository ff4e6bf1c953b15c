// Pretrains the `tiny` base on the generic synthetic shapes task (packages/core/src/train/
// shapes-task.ts), seeded, on the wasm backend, and writes the int8 base checkpoint plus a
// JSON report to packages/core/assets/. Usage:
//   pnpm exec tsx scripts/pretrain.ts [--steps 1000] [--batch 32] [--lr 3e-3] [--seed 1]
//     [--train 8000] [--test 1000] [--out packages/core/assets/tiny-base.safetensors]
import { writeFileSync } from 'node:fs';
import {
  createModel,
  loadModel,
  saveModel,
  frozenBytes,
} from '../packages/core/src/model/index.js';
import {
  initNodeBackend,
  TINY_BASE_PATH,
  TINY_BASE_REPORT_PATH,
} from '../packages/core/src/node/index.js';
import {
  evaluate,
  majorityBaseline,
  pretrainBase,
  shapesTask,
  SHAPES_ANSWERS,
} from '../packages/core/src/train/index.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${process.argv[i + 1]}`);
  return v;
}
const outIdx = process.argv.indexOf('--out');
const out = outIdx >= 0 ? process.argv[outIdx + 1] : TINY_BASE_PATH;
const report = outIdx >= 0 ? out.replace(/\.safetensors$/, '.json') : TINY_BASE_REPORT_PATH;
const steps = arg('steps', 800);
const batchSize = arg('batch', 32);
const lr = arg('lr', 3e-3);
const seed = arg('seed', 1);
const nTrain = arg('train', 8000);
const nTest = arg('test', 1000);

const backend = await initNodeBackend('wasm');
// Train and held-out sets come from the same generator with different seeds.
const train = shapesTask(nTrain, seed);
const test = shapesTask(nTest, seed + 1_000_003);
const model = createModel('tiny', { seed, answers: SHAPES_ANSWERS });
const cpu0 = process.cpuUsage();

async function writeOut(step: number, final: boolean): Promise<void> {
  const bytes = saveModel(model, { include: 'base' });
  writeFileSync(out, bytes);
  const fp32 = await evaluate(model, test);
  const int8 = await evaluate(loadModel(bytes, { seed }), test);
  const cpu = process.cpuUsage(cpu0);
  const fb = frozenBytes(model.config);
  const summary = {
    task: 'shapes (shape, colour, count, position, yes/no), 28x28 RGB',
    seed,
    steps: step,
    final,
    batchSize,
    lr,
    trainSamples: nTrain,
    heldOutSamples: nTest,
    backend,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    heldOutAccuracyFp32: fp32.accuracy,
    heldOutAccuracyInt8: int8.accuracy,
    heldOutLossFp32: fp32.loss,
    heldOutLossInt8: int8.loss,
    perTypeInt8: int8.perType,
    chance: 1 / SHAPES_ANSWERS.length,
    majorityBaseline: majorityBaseline(train, test),
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
      perType: int8.perType,
      cpuSeconds: summary.cpuSeconds,
    }),
  );
}

const r = await pretrainBase(model, train, {
  steps,
  batchSize,
  lr,
  seed,
  snapshotEvery: 200,
  onSnapshot: (step) => writeOut(step, false),
  onProgress: (p) => {
    if (p.step % 25 === 0) console.log(`step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}`);
  },
});
console.log(`pretrained in ${r.seconds.toFixed(0)} s wall, ${r.usedWords} words seen`);
await writeOut(steps, true);
