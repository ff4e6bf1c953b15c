// Dumps what the head sees: the frozen base's pooled features (final LayerNorm -> first token
// -> tanh pooler, as forward.ts classify computes them; adapters are the identity at start)
// for every site's training and held-out samples, the answer indices, question types, the
// initial head and the question-type answer sets. head_proxy.py replays federated and pooled
// training of the head alone on them in seconds (docs/federated-recipe.md, "Finding the cause").
//   pnpm exec tsx bench/diagnostics/head-features.ts CLIENTS SEED OUT.json
import { writeFileSync } from 'node:fs';
import { modelSourceFromConfig } from '../../apps/coordinator/src/model-source.js';
import type { VqaSample } from '../../packages/core/src/data/index.js';
import { disposeBatch, encodeBatch, loadModel } from '../../packages/core/src/model/index.js';
import { initNodeBackend } from '../../packages/core/src/node/index.js';
import { answersByQuestionType } from '../../packages/core/src/train/index.js';
import { labSites } from '../lib/fedlab.js';

const [clients = '4', seed = '0', out = 'head-features.json'] = process.argv.slice(2);
await initNodeBackend('wasm');
const model = loadModel(
  modelSourceFromConfig({ preset: 'tiny', modelSeed: Number(seed) }).baseBytes!,
);
const H = model.config.hidden;
const g = model.getParams(['final_ln/gamma', 'final_ln/beta', 'pooler/kernel', 'pooler/bias']);

function pooled(samples: readonly VqaSample[]): number[][] {
  const res: number[][] = [];
  for (let i = 0; i < samples.length; i += 64) {
    const batch = encodeBatch(samples.slice(i, i + 64), {
      config: model.config,
      answers: model.answers,
      allowUnknownAnswers: true,
    });
    const pre = model.forwardPrefix(batch, model.config.numLayers);
    const x = pre.state.x.arraySync();
    pre.state.x.dispose();
    pre.state.bias.dispose();
    disposeBatch(batch);
    for (const seq of x) {
      const f = seq[0];
      const mu = f.reduce((a, b) => a + b, 0) / H;
      const v = f.reduce((a, b) => a + (b - mu) ** 2, 0) / H;
      const y = f.map(
        (t, h) =>
          ((t - mu) / Math.sqrt(v + model.config.layerNormEps)) * g['final_ln/gamma'].data[h] +
          g['final_ln/beta'].data[h],
      );
      const p: number[] = [];
      for (let o = 0; o < H; o++) {
        let s = g['pooler/bias'].data[o];
        for (let h = 0; h < H; h++) s += y[h] * g['pooler/kernel'].data[h * H + o];
        p.push(Math.tanh(s));
      }
      res.push(p);
    }
  }
  return res;
}

const split = (xs: readonly VqaSample[]) => ({
  f: pooled(xs),
  y: xs.map((x) => model.answers.indexOf(x.answer)),
  t: xs.map((x) => x.questionType),
});
const head = model.getParams(['head/kernel', 'head/bias']);
writeFileSync(
  out,
  JSON.stringify({
    answers: model.answers,
    W: { shape: head['head/kernel'].shape, data: Array.from(head['head/kernel'].data) },
    b: { shape: head['head/bias'].shape, data: Array.from(head['head/bias'].data) },
    byType: Object.fromEntries(
      Object.entries(answersByQuestionType()).map(([t, s]) => [t, [...s]]),
    ),
    sites: labSites(Number(clients), Number(seed), { testSize: 300 }).map((s) => ({
      name: s.name,
      train: split(s.train),
      test: split(s.test),
    })),
  }),
);
model.dispose();
console.log(`wrote ${out}`);
