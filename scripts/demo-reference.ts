// The demo's pooled reference: its sites' own synthetic data (the seeds and sizes the tabs
// generate) trained in one place on the same samples and sequential steps as the federation
// (rounds x steps at batch size x sites), AdamW 3e-3 on all adapters, evaluated on every site's
// held-out split with the federation's answer rule (docs/federated-recipe.md).
import { DEFAULT_CONFIG } from '../apps/coordinator/src/config.js';
import { modelSourceFromConfig } from '../apps/coordinator/src/model-source.js';
import { runCentral, type LabSite } from '../bench/lib/fedlab.js';
import { syntheticClient, type ClientName } from '../packages/core/src/data/index.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';

export async function pooledReference(o: {
  sites: readonly string[];
  seeds: readonly number[];
  floor: number;
  rounds: number;
  steps: number;
}): Promise<{ accuracy: number; perSite: Record<string, number>; what: string }> {
  await initNodeBackend('wasm');
  const sites: LabSite[] = o.sites.map((name, i) => {
    const d = syntheticClient(name as ClientName, { seed: o.seeds[i], scale: 0, floor: o.floor });
    return { name: name as ClientName, train: d.train, test: d.test };
  });
  const base = modelSourceFromConfig(DEFAULT_CONFIG).baseBytes!;
  const steps = o.rounds * o.steps;
  const batchSize = DEFAULT_CONFIG.batchSize * sites.length;
  const ev = await runCentral(
    base,
    sites.flatMap((s) => s.train),
    sites,
    {
      steps,
      batchSize,
      lr: 3e-3,
      local: { optimizer: 'adamw', answerMask: DEFAULT_CONFIG.answerMask },
    },
    DEFAULT_CONFIG.seed,
  );
  return {
    accuracy: ev.accuracy,
    perSite: Object.fromEntries(Object.entries(ev.perSite).map(([k, v]) => [k, v.accuracy])),
    what: `${steps} steps x ${batchSize}, AdamW 3e-3, answer rule ${DEFAULT_CONFIG.answerMask}`,
  };
}
