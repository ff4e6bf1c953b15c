// LNTK cost per client on the `tiny` model with n = 16 (target: at most the cost
// of 2 local training steps), on the cpu and wasm backends in Node. LNTK runs its batched path
// (per-sample Jacobian rows from one batch-16 backward pass); the per-sample reference path is
// timed on one client for comparison.
// The training step it is compared with: batch 16, every adapter + head trained (the backward
// pass then reaches block 0, as LNTK's does), AdamW; timed after a warm-up step.
import {
  CLIENT_NAMES,
  answerVocabulary,
  syntheticClient,
} from '../packages/core/src/data/index.js';
import { computeLntk } from '../packages/core/src/importance/vqa.js';
import { createModel } from '../packages/core/src/model/index.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import { trainLayers } from '../packages/core/src/train/index.js';
import type { BenchResult } from './types.js';

const N = 16;

async function stepMs(): Promise<number> {
  const model = createModel('tiny', { seed: 0, answers: answerVocabulary() });
  const { train } = syntheticClient('blood_microscope', { seed: 0 });
  const opts = { layers: model.layerNames(), batchSize: N, seed: 0 };
  await trainLayers(model, train.slice(0, N), { ...opts, steps: 1 }); // warm-up
  const r = await trainLayers(model, train.slice(0, 4 * N), { ...opts, steps: 4 });
  model.dispose();
  return (r.metrics.seconds * 1000) / r.metrics.steps;
}

export async function run(): Promise<BenchResult> {
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await initNodeBackend(backend);
    const step = await stepMs();
    const model = createModel('tiny', { seed: 0, answers: answerVocabulary() });
    computeLntk(model, syntheticClient('fundus', { seed: 0 }).train, { numSamples: N }); // warm-up
    const times: number[] = [];
    for (const client of CLIENT_NAMES) {
      const { train } = syntheticClient(client, { seed: 0 });
      const r = computeLntk(model, train, { numSamples: N, seed: 0 });
      times.push(r.elapsedMs);
      rows.push({
        backend,
        client,
        lntkMs: Math.round(r.elapsedMs),
        trainStepMs: Math.round(step),
        ratio: Number((r.elapsedMs / step).toFixed(2)),
        path: r.path,
        topLayer: r.layers[r.scores.indexOf(Math.max(...r.scores))],
      });
    }
    // The per-sample reference path (16 batch-1 backward passes), on one client, for scale.
    const ref = computeLntk(model, syntheticClient(CLIENT_NAMES[0], { seed: 0 }).train, {
      numSamples: N,
      seed: 0,
      batched: false,
    });
    model.dispose();
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const ratio = mean / step;
    notes.push(
      `${backend}: LNTK (n=${N}, true-logit kernel, one batched backward pass) ${mean.toFixed(0)} ms ` +
        `mean per client vs ${step.toFixed(0)} ms per training step (batch ${N}, all adapters): ` +
        `ratio ${ratio.toFixed(2)} -> target <= 2 ${ratio <= 2 ? 'MET' : 'MISSED'}; ` +
        `per-sample reference path (16 batch-1 passes, ${CLIENT_NAMES[0]}) ` +
        `${ref.elapsedMs.toFixed(0)} ms (ratio ${(ref.elapsedMs / step).toFixed(2)})`,
    );
  }
  return { name: 'lntk', rows, notes };
}
