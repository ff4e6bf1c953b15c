// Training cost of the `tiny` model in Node on the cpu and wasm backends: forward and
// forward+backward time, trainLayers steps/s, and cost per layer selection (late vs early
// adapters; with and without running the frozen prefix outside the tape). CPU time per step is
// reported beside wall time because the machine's 2 cores are shared with other work.
import { existsSync } from 'node:fs';
import {
  answerVocabulary,
  syntheticClient,
  type ClientName,
} from '../packages/core/src/data/index.js';
import {
  createModel,
  disposeBatch,
  encodeBatch,
  loadModel,
  type VqaModel,
} from '../packages/core/src/model/index.js';
import {
  initNodeBackend,
  readTinyBase,
  TINY_BASE_PATH,
  type NodeBackend,
} from '../packages/core/src/node/index.js';
import {
  evaluate,
  lossAndGrads,
  majorityBaseline,
  trainLayers,
} from '../packages/core/src/train/index.js';
import type { BenchResult } from './types.js';

function model(seed: number): VqaModel {
  const m = existsSync(TINY_BASE_PATH)
    ? loadModel(readTinyBase(), { seed })
    : createModel('tiny', { seed });
  m.resetHead(answerVocabulary(), seed);
  return m;
}

async function timeIt(
  reps: number,
  f: () => void | Promise<void>,
): Promise<{ wallMs: number; cpuMs: number }> {
  await f(); // warm-up (kernel compilation, caches)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  const c = process.cpuUsage(c0);
  return { wallMs: (performance.now() - t0) / reps, cpuMs: (c.user + c.system) / 1000 / reps };
}

export async function run(): Promise<BenchResult> {
  const rows: Record<string, unknown>[] = [];
  const data = syntheticClient('blood_microscope', { seed: 1 });
  const samples = data.train.slice(0, 128);
  const batchSize = 32;
  for (const backend of ['wasm', 'cpu'] as NodeBackend[]) {
    await initNodeBackend(backend);
    const m = model(1);
    const reps = backend === 'wasm' ? 5 : 2;
    const steps = backend === 'wasm' ? 8 : 3;
    const batch = encodeBatch(samples.slice(0, batchSize), m);
    const fwd = await timeIt(reps, async () => {
      await m.predictLogits(batch);
    });
    rows.push({
      backend,
      what: `forward, batch ${batchSize}`,
      wallMs: fwd.wallMs.toFixed(1),
      cpuMs: fwd.cpuMs.toFixed(1),
    });
    const names = m.trainableParamNames(m.layerNames());
    const fb = await timeIt(reps, async () => {
      const { loss, grads } = lossAndGrads(m, batch, names);
      await loss.data();
      loss.dispose();
      for (const g of Object.values(grads)) g.dispose();
    });
    rows.push({
      backend,
      what: `forward+backward (all adapters + head), batch ${batchSize}`,
      wallMs: fb.wallMs.toFixed(1),
      cpuMs: fb.cpuMs.toFixed(1),
    });
    disposeBatch(batch);
    const L = m.layerNames();
    const selections: [string, string[], boolean][] = [
      ['head only', [], true],
      ['late 2 (block4,5)', L.slice(-2), true],
      ['late 2, prefix on tape', L.slice(-2), false],
      ['early 2 (block0,1)', L.slice(0, 2), true],
      ['all 6', L, true],
    ];
    for (const [label, layers, prefix] of selections) {
      const fresh = model(1);
      const c0 = process.cpuUsage();
      const r = await trainLayers(fresh, samples, {
        layers,
        steps,
        batchSize,
        seed: 1,
        frozenPrefix: prefix,
      });
      const c = process.cpuUsage(c0);
      rows.push({
        backend,
        what: `trainLayers ${label}`,
        wallMs: ((1000 * r.metrics.seconds) / steps).toFixed(1),
        cpuMs: ((c.user + c.system) / 1000 / steps).toFixed(1),
        stepsPerSecond: r.metrics.stepsPerSecond.toFixed(2),
        trainedParams: r.metrics.trainedParams,
      });
      fresh.dispose();
    }
    m.dispose();
  }
  // Fine-tuning quality on synthetic clients: fresh head on the pretrained int8 base, then
  // head only (a linear probe) vs all adapters + head, against the majority answer.
  await initNodeBackend('wasm');
  const clients = (process.env.FINETUNE_CLIENTS ?? 'blood_microscope,chest_xray,dermatoscope')
    .split(',')
    .filter(Boolean);
  const ftSteps = Number(process.env.FINETUNE_STEPS ?? 120);
  for (const client of clients) {
    const d = syntheticClient(client as ClientName, { seed: 1 });
    const maj = majorityBaseline(d.train, d.test).accuracy;
    const row: Record<string, unknown> = {
      backend: 'wasm',
      what: `finetune ${client} (${d.train.length}/${d.test.length}), ${ftSteps} steps`,
      majority: maj.toFixed(3),
    };
    for (const [label, all] of [
      ['headOnly', false],
      ['adapters', true],
    ] as const) {
      const m = model(1);
      if (label === 'headOnly') row.baseFreshHead = (await evaluate(m, d.test)).accuracy.toFixed(3);
      await trainLayers(m, d.train, {
        layers: all ? m.layerNames() : [],
        steps: ftSteps,
        batchSize: 32,
        lr: 3e-3,
        seed: 1,
      });
      row[label] = (await evaluate(m, d.test)).accuracy.toFixed(3);
      m.dispose();
    }
    rows.push(row);
  }
  const ms = (b: string, w: string) =>
    Number(rows.find((r) => r.backend === b && r.what === `trainLayers ${w}`)?.cpuMs);
  const notes = [
    'wall ms include contention from other processes on the 2 shared cores; cpuMs is this process only (per step/call).',
  ];
  for (const b of ['wasm', 'cpu']) {
    notes.push(
      `${b}: an early-2 step costs ${(ms(b, 'early 2 (block0,1)') / ms(b, 'late 2 (block4,5)')).toFixed(2)}x a late-2 step; all-6 ${(ms(b, 'all 6') / ms(b, 'late 2 (block4,5)')).toFixed(2)}x (CPU time).`,
    );
  }
  return { name: 'train', rows, notes };
}
