// Does the LNTK score mean anything? For every synthetic client: score the layers
// (LNTK and each baseline), then fine-tune ONE adapter layer at a time (plus the head, which is
// always trained) with the same steps and seed, and correlate (Spearman) each scorer's layer
// scores with the per-layer gain over head-only training. A report, not a test.
//
//   npx tsx scripts/lntk-report.ts [--steps 15] [--lr 0.003] [--clients a,b] [--backend wasm]
//                                  [--seed 0] [--checkpoint base.ckpt]
// Writes bench/results/lntk-report.json and prints a table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CLIENT_NAMES, syntheticClient, type ClientName } from '../packages/core/src/data/index.js';
import { spearman } from '../packages/core/src/importance/rank.js';
import { SCORER_METHODS, type ScorerMethod } from '../packages/core/src/importance/scorers.js';
import { computeLntk, fedselectDelta, scoreLayers } from '../packages/core/src/importance/vqa.js';
import { scoringModel } from '../packages/core/src/cli/lntk.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import type { NamedArrays } from '../packages/core/src/tensors/named.js';
import { evaluate, trainLayers } from '../packages/core/src/train/index.js';

// LNTK variants next to the baselines: the default, the paper's summed-logit pNTK, no probe,
// and the block-weights ("model layer") variant.
const VARIANTS = ['lntk', 'lntk-summed', 'lntk-noprobe', 'lntk-block'] as const;
type Column = ScorerMethod | (typeof VARIANTS)[number];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '15' },
      lr: { type: 'string', default: '0.003' },
      clients: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      seed: { type: 'string', default: '0' },
      samples: { type: 'string', default: '16' },
      checkpoint: { type: 'string' },
    },
  });
  const steps = Number(values.steps);
  const lr = Number(values.lr);
  const seed = Number(values.seed);
  const numSamples = Number(values.samples);
  const clients = (values.clients?.split(',') ?? [...CLIENT_NAMES]) as ClientName[];
  for (const c of clients)
    if (!(CLIENT_NAMES as readonly string[]).includes(c))
      throw new Error(`unknown client "${c}"; valid: ${CLIENT_NAMES.join(', ')}`);
  await initNodeBackend(values.backend as 'wasm' | 'cpu');
  const started = Date.now();
  const { model, source } = scoringModel(seed, values.checkpoint);
  console.error(`model: ${source}`);
  const layers = model.layerNames();
  const base: NamedArrays = model.getParams(model.trainableParamNames(layers));
  const columns: Column[] = [...VARIANTS, ...SCORER_METHODS.filter((m) => m !== 'lntk')];
  const perClient: Record<string, unknown>[] = [];

  for (const client of clients) {
    const t0 = Date.now();
    const { train, test } = syntheticClient(client, { seed });
    model.setParams(base);
    // 1. scores at the state fine-tuning starts from
    const delta = await fedselectDelta(model, train, { seed, steps: 5 });
    const scores: Partial<Record<Column, number[]>> = {};
    const opts = { seed, numSamples };
    scores.lntk = computeLntk(model, train, opts).scores;
    scores['lntk-summed'] = computeLntk(model, train, { ...opts, kernel: 'summed' }).scores;
    scores['lntk-noprobe'] = computeLntk(model, train, { ...opts, probe: 'none' }).scores;
    scores['lntk-block'] = computeLntk(model, train, { ...opts, unit: 'block' }).scores;
    for (const m of SCORER_METHODS)
      if (m !== 'lntk') scores[m] = scoreLayers(m, model, train, { ...opts, delta });
    // 2. per-layer fine-tuning gains over head-only training (same steps, seed, batches)
    const fit = async (trained: string[]) => {
      model.setParams(base);
      await trainLayers(model, train, { layers: trained, steps, batchSize: 16, lr, seed });
      return evaluate(model, test);
    };
    const head = await fit([]);
    const acc: number[] = [];
    const loss: number[] = [];
    for (const l of layers) {
      const r = await fit([l]);
      acc.push(r.accuracy - head.accuracy);
      loss.push(head.loss - r.loss);
    }
    const rhoAcc: Record<string, number | null> = {};
    const rhoLoss: Record<string, number | null> = {};
    for (const c of columns) {
      rhoAcc[c] = spearman(scores[c]!, acc);
      rhoLoss[c] = spearman(scores[c]!, loss);
    }
    perClient.push({
      client,
      train: train.length,
      test: test.length,
      headOnlyAccuracy: head.accuracy,
      accuracyGain: acc,
      lossDecrease: loss,
      scores,
      spearmanAccuracy: rhoAcc,
      spearmanLoss: rhoLoss,
      seconds: (Date.now() - t0) / 1000,
    });
    console.error(
      `${client}: head-only acc ${head.accuracy.toFixed(3)}, gains ${acc.map((g) => g.toFixed(3)).join(' ')}` +
        `, lntk rho acc ${rhoAcc.lntk?.toFixed(2) ?? 'n/a'} loss ${rhoLoss.lntk?.toFixed(2) ?? 'n/a'} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  model.dispose();

  const summary = columns.map((c) => {
    const col = (key: 'spearmanAccuracy' | 'spearmanLoss') => {
      const v = perClient
        .map((p) => (p[key] as Record<string, number | null>)[c])
        .filter((x): x is number => x !== null);
      return v.length ? Number((v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)) : null;
    };
    return {
      scorer: c,
      meanRhoAccuracyGain: col('spearmanAccuracy'),
      meanRhoLossDecrease: col('spearmanLoss'),
    };
  });
  const out = {
    name: 'lntk-report',
    settings: {
      steps,
      lr,
      seed,
      numSamples,
      backend: values.backend,
      model: source,
      clients,
    },
    layers,
    summary,
    perClient,
    seconds: (Date.now() - started) / 1000,
    date: new Date().toISOString(),
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/lntk-report.json', JSON.stringify(out, null, 2) + '\n');
  console.table(summary);
  console.log(`(${out.seconds.toFixed(0)} s; bench/results/lntk-report.json)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
