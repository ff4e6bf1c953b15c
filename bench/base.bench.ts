// Is the pretrained base competent and does it transfer? For each committed base (`tiny`,
// `small`; packages/core/assets/<preset>-base.*) and, when FOCUS_FL_BASE_BASELINE names a
// checkpoint, an earlier base for comparison:
//   1. pretraining task: held-out accuracy per question type (int8 checkpoint, a held-out set
//      the pretraining never used) beside the report's fp32 / int8 figures, chance and majority;
//   2. linear probe: logistic regression on frozen features (no adapters) telling the 12
//      synthetic MedMNIST-like subsets apart, on held-out images, for three feature definitions
//      (CLS pooler, mean image-patch tokens of the last block, of every block concatenated), at
//      the earlier revisions' fixed L2 and with L2 chosen by cross-validation on the training
//      images, 60 and 240 training images a subset; freshly initialised `tiny` and `small` are
//      the floor (bench/diagnostics/probe-ceiling.ts measures the ceiling);
//   3. transfer: on each of the 9 synthetic clients, all adapters + head vs head-only
//      fine-tuning, same steps / lr / seed, held-out accuracy;
//   4. LNTK on `small`: cost of one computeLntk call vs one training step.
// Knobs (environment): FOCUS_FL_BASE_STEPS (fine-tuning steps, default 120: at 40 the adapters,
// which start as the identity, have not moved and no base gains over head-only),
// FOCUS_FL_BASE_CLIENTS (comma list, default all 9), FOCUS_FL_BASE_SECTIONS (default
// "types,probe,transfer,lntk"), FOCUS_FL_BASE_PRESETS (comma list of committed bases, default
// all), FOCUS_FL_BASE_NAME (result file name, default "base"; to run presets in parallel),
// FOCUS_FL_BASE_CANDIDATES (comma list of name=checkpoint: uncommitted bases measured in every
// section, as the committed ones are), FOCUS_FL_BASE_LNTK_BASE (section 4's base, default small),
// FOCUS_FL_BASE_PROBE_TRAIN (section 2's training images a subset, default "60,240"),
// FOCUS_FL_BASE_TYPES_N (section 1's held-out questions, default 6000: ~750 a type, about 1.8
// points of sampling error at 50 %; 800 leave 5).
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  answerVocabulary,
  CLIENT_NAMES,
  SUBSET_NAMES,
  syntheticClient,
  type ClientName,
} from '../packages/core/src/data/index.js';
import { computeLntk } from '../packages/core/src/importance/vqa.js';
import {
  createModel,
  loadModel,
  type SampleLike,
  type VqaModel,
} from '../packages/core/src/model/index.js';
import { basePaths, BASE_PRESETS, initNodeBackend } from '../packages/core/src/node/index.js';
import {
  evaluate,
  imageTokenFeatures,
  linearProbe,
  pooledFeatures,
  shapesBaselines,
  shapesTask,
  trainLayers,
  tunedLinearProbe,
} from '../packages/core/src/train/index.js';
import { subsetImages } from './lib/subset-images.js';
import type { BenchResult } from './types.js';

const SEED = 1;
const env = (k: string) => process.env[`FOCUS_FL_BASE_${k}`];
const FT_STEPS = Number(env('STEPS') ?? 120);
const FT_BATCH = 32;
const FT_LR = 3e-3;
const CLIENTS = (env('CLIENTS')?.split(',') ?? [...CLIENT_NAMES]) as ClientName[];
const SECTIONS = new Set((env('SECTIONS') ?? 'types,probe,transfer,lntk').split(','));
const pct = (x: number) => Math.round(x * 1000) / 10;
const TYPES_N = Number(env('TYPES_N') ?? 6000);
if (!Number.isInteger(TYPES_N) || TYPES_N < 8)
  throw new Error(`FOCUS_FL_BASE_TYPES_N must be an integer >= 8, got ${env('TYPES_N')}`);

interface Base {
  name: string;
  file: string;
  report: string | null;
}

function bases(): Base[] {
  const out: Base[] = [];
  const baseline = env('BASELINE');
  if (baseline) {
    if (!existsSync(baseline)) throw new Error(`FOCUS_FL_BASE_BASELINE: no file at ${baseline}`);
    const rep = baseline.replace(/\.safetensors$/, '.json');
    out.push({ name: 'before', file: baseline, report: existsSync(rep) ? rep : null });
  }
  for (const spec of env('CANDIDATES')?.split(',') ?? []) {
    const [name, file] = spec.split('=');
    if (!name || !file || !existsSync(file))
      throw new Error(`FOCUS_FL_BASE_CANDIDATES: "${spec}" is not name=<existing checkpoint>`);
    const rep = file.replace(/\.safetensors$/, '.json');
    out.push({ name, file, report: existsSync(rep) ? rep : null });
  }
  const only = env('PRESETS')?.split(',');
  for (const p of BASE_PRESETS.filter((x) => !only || only.includes(x))) {
    const { checkpoint, report } = basePaths(p);
    if (existsSync(checkpoint))
      out.push({ name: p, file: checkpoint, report: existsSync(report) ? report : null });
  }
  return out;
}

const load = (b: Base): VqaModel => loadModel(new Uint8Array(readFileSync(b.file)), { seed: SEED });

/** Section 1: per-type accuracy on a held-out set of the base's own task. */
async function typeRows(b: Base): Promise<Record<string, unknown>[]> {
  const report = b.report
    ? (JSON.parse(readFileSync(b.report, 'utf8')) as {
        seed: number;
        perType?: Record<string, { fp32: number; int8: number }>;
      })
    : null;
  const seed = report?.seed ?? SEED;
  const test = shapesTask(TYPES_N, seed + 77);
  const m = load(b);
  // An earlier base answers an earlier version of the task: types it has no answers for
  // are scored as wrong, which is what they are.
  const r = await evaluate(m, test);
  m.dispose();
  const base = shapesBaselines(shapesTask(4000, seed + 2_000_003), test);
  return Object.keys(base)
    .sort()
    .map((type) => ({
      section: 'types',
      base: b.name,
      type,
      heldOutInt8: pct(r.perType[type]?.accuracy ?? 0),
      reportFp32: report?.perType ? pct(report.perType[type]?.fp32 ?? NaN) : null,
      reportInt8: report?.perType ? pct(report.perType[type]?.int8 ?? NaN) : null,
      chance: pct(base[type].chance),
      majority: pct(base[type].majority),
      n: r.perType[type]?.n ?? 0,
    }));
}

/** Section 2's feature definitions (train/probe.ts; packages/core/src/model/README.md, "The
 * probe's features"). */
const PROBE_FEATURES = {
  'cls-pooler': (m: VqaModel, s: SampleLike[]) => pooledFeatures(m, s),
  'image-mean-last': (m: VqaModel, s: SampleLike[]) => imageTokenFeatures(m, s),
  'image-mean-per-block': (m: VqaModel, s: SampleLike[]) =>
    imageTokenFeatures(m, s, { blocks: 'all' }),
} as const;
type ProbeFeatures = keyof typeof PROBE_FEATURES;
/** Training images a subset: bench base's 60 (the earlier revisions' setting) and more. */
const PROBE_TRAIN = (env('PROBE_TRAIN') ?? '60,240').split(',').map(Number);
if (PROBE_TRAIN.some((n) => !Number.isInteger(n) || n < 4))
  throw new Error(
    `FOCUS_FL_BASE_PROBE_TRAIN must be a comma list of integers >= 4 (4-fold cross-validation), got ${env('PROBE_TRAIN')}`,
  );

/**
 * Section 2: linear probes on frozen features telling the 12 subsets apart, held-out 40
 * images a subset (seed 1001). `fixed`: L2 1e-3, 300 full-batch steps (the earlier revisions'
 * probe); `tuned`: L2 chosen by 4-fold cross-validation on the training images alone.
 */
function probeRows(name: string, m: VqaModel): Record<string, unknown>[] {
  const test = subsetImages(40, SEED + 1000);
  const rows: Record<string, unknown>[] = [];
  for (const perSubset of PROBE_TRAIN) {
    const train = subsetImages(perSubset, SEED);
    for (const features of Object.keys(PROBE_FEATURES) as ProbeFeatures[]) {
      const t0 = performance.now();
      const a = PROBE_FEATURES[features](m, train.samples);
      const b = PROBE_FEATURES[features](m, test.samples);
      const fixed = linearProbe(a, train.labels, b, test.labels);
      // The default grid's larger penalties (3e-2, 1e-1) were never chosen on these bases
      // (bench/diagnostics/probe-variants.ts); five values keep the section's cost down.
      const tuned = tunedLinearProbe(a, train.labels, b, test.labels, {
        l2Grid: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
      });
      rows.push({
        section: 'probe',
        base: name,
        features,
        dim: a.length / train.labels.length,
        subsets: fixed.classes,
        trainImages: train.labels.length,
        testImages: test.labels.length,
        probeTrain: pct(fixed.trainAccuracy),
        probeHeldOut: pct(fixed.testAccuracy),
        tunedL2: tuned.l2,
        tunedTrain: pct(tuned.trainAccuracy),
        tunedHeldOut: pct(tuned.testAccuracy),
        confusions: confusions(tuned.testPredictions, test.labels),
        seconds: Math.round((performance.now() - t0) / 100) / 10,
      });
    }
  }
  return rows;
}

/** The held-out errors of a probe, "true -> predicted count", most frequent first. */
function confusions(pred: readonly number[], labels: readonly number[]): string {
  const count = new Map<string, number>();
  labels.forEach((y, i) => {
    if (pred[i] === y) return;
    const key = `${SUBSET_NAMES[y]} -> ${SUBSET_NAMES[pred[i]]}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  });
  return [...count]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** Section 3: all adapters + head vs head-only on one client. */
async function transferRow(b: Base, client: ClientName): Promise<Record<string, unknown>> {
  const data = syntheticClient(client, { seed: SEED });
  const vocab = answerVocabulary();
  const acc: Record<string, number> = {};
  for (const mode of ['head', 'adapters'] as const) {
    const m = load(b);
    m.resetHead(vocab, SEED);
    await trainLayers(m, data.train, {
      layers: mode === 'head' ? [] : m.layerNames(),
      steps: FT_STEPS,
      batchSize: FT_BATCH,
      lr: FT_LR,
      seed: SEED,
    });
    acc[mode] = (await evaluate(m, data.test)).accuracy;
    m.dispose();
  }
  return {
    section: 'transfer',
    base: b.name,
    client,
    headOnly: pct(acc.head),
    adaptersAndHead: pct(acc.adapters),
    gain: pct(acc.adapters - acc.head),
    testSamples: data.test.length,
  };
}

/** Section 4: one LNTK scoring call vs one all-adapter training step, on `small`. */
async function lntkRow(b: Base): Promise<Record<string, unknown>> {
  const data = syntheticClient('blood_microscope', { seed: SEED });
  const m = load(b);
  m.resetHead(answerVocabulary(), SEED);
  computeLntk(m, data.train, { numSamples: 4, seed: SEED }); // warm-up
  const t0 = performance.now();
  const r = computeLntk(m, data.train, { numSamples: 16, seed: SEED });
  const lntkMs = performance.now() - t0;
  const steps = 3;
  await trainLayers(m, data.train, { layers: m.layerNames(), steps: 1, batchSize: 16, seed: SEED });
  const t1 = performance.now();
  await trainLayers(m, data.train, { layers: m.layerNames(), steps, batchSize: 16, seed: SEED });
  const stepMs = (performance.now() - t1) / steps;
  const layers = m.layerNames().length;
  m.dispose();
  return {
    section: 'lntk',
    base: b.name,
    layers,
    samples: 16,
    lntkMs: Math.round(lntkMs),
    trainStepMs: Math.round(stepMs),
    lntkOverStep: Math.round((lntkMs / stepMs) * 10) / 10,
    scores: r.scores.map((s) => Number(s.toPrecision(3))).join(' '),
  };
}

export async function run(): Promise<BenchResult> {
  await initNodeBackend('wasm');
  const rows: Record<string, unknown>[] = [];
  const knobs = Object.entries(process.env)
    .filter(([k]) => k.startsWith('FOCUS_FL_BASE_'))
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const loadAverage = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  const cpu0 = process.cpuUsage();
  const notes: string[] = [`command: ${[...knobs, 'pnpm bench base'].join(' ')}`];
  const loadAtStart = loadAverage();
  const list = bases();
  if (list.length === 0) throw new Error('bench base: no committed base checkpoint found');
  if (SECTIONS.has('types')) {
    for (const b of list) {
      const r = await typeRows(b);
      rows.push(...r);
      if (b.name === 'before') continue;
      const low = r.filter((x) => (x.heldOutInt8 as number) < 85);
      const gap = r.filter(
        (x) =>
          x.reportFp32 !== null &&
          Math.abs((x.reportFp32 as number) - (x.reportInt8 as number)) > 1,
      );
      notes.push(
        `${b.name}: ${low.length === 0 ? 'every question type >= 85 % held-out' : `below 85 %: ${low.map((x) => `${String(x.type)} ${String(x.heldOutInt8)} %`).join(', ')}`}; int8 vs fp32 ${gap.length === 0 ? 'within 1 point on every type' : `differ by > 1 point on ${gap.map((x) => String(x.type)).join(', ')}`}`,
      );
    }
  }
  if (SECTIONS.has('probe')) {
    for (const preset of ['tiny', 'small'] as const) {
      const fresh = createModel(preset, { seed: SEED });
      rows.push(...probeRows(`fresh ${preset} (untrained)`, fresh));
      fresh.dispose();
    }
    for (const b of list) {
      const m = load(b);
      const r = probeRows(b.name, m);
      m.dispose();
      rows.push(...r);
      notes.push(
        `probe ${b.name} (held-out, 12 subsets, target >= 95 %; fixed / tuned L2): ${r
          .map(
            (x) =>
              `${String(x.features)} ${String(x.trainImages)} train ${String(x.probeHeldOut)} / ${String(x.tunedHeldOut)} %`,
          )
          .join('; ')}`,
      );
    }
  }
  if (SECTIONS.has('transfer')) {
    for (const b of list.filter((x) => x.name !== 'before')) {
      const r: Record<string, unknown>[] = [];
      for (const c of CLIENTS) r.push(await transferRow(b, c));
      rows.push(...r);
      const mean = r.reduce((s, x) => s + (x.gain as number), 0) / r.length;
      notes.push(
        `transfer ${b.name}: all adapters + head beat head-only by ${mean.toFixed(1)} points on average over ${r.length} clients (${FT_STEPS} steps x ${FT_BATCH}, lr ${FT_LR}; target >= 10)`,
      );
    }
  }
  if (SECTIONS.has('lntk')) {
    const small = list.find((x) => x.name === (env('LNTK_BASE') ?? 'small'));
    if (small) {
      const r = await lntkRow(small);
      rows.push(r);
      notes.push(
        `LNTK on small (12 adapters, 16 samples): ${String(r.lntkMs)} ms per call, ${String(r.lntkOverStep)}x one all-adapter training step of 16 (${String(r.trainStepMs)} ms)`,
      );
    } else notes.push('LNTK: no small base committed, section skipped');
  }
  const cpu = process.cpuUsage(cpu0);
  notes.push(
    `load average (1, 5, 15 min) at the start ${loadAtStart}, at the end ${loadAverage()}; ${Math.round((cpu.user + cpu.system) / 1e6)} CPU-s`,
  );
  return { name: env('NAME') ?? 'base', rows, notes };
}
