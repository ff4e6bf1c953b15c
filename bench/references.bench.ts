// The reference set every learning claim is measured against (docs/federated-recipe.md):
// majority answer, each site alone, pooled (centralized) training at the same samples and
// sequential steps as the federation, pooled with one site's batch, and the federation itself
// (the old FedAvg + AdamW recipe and DEFAULT_CONFIG's recipe, all adapters and F3OCUS at
// budget 2), over several seeds on the in-process federation lab (bench/lib/fedlab.ts: the
// engine's trainLayers, masked aggregation, server optimiser and evaluation).
//
// Env: REFERENCES_CLIENTS (default "4,9"), REFERENCES_SEEDS (default "0,1,2"),
// REFERENCES_ROWS (comma-separated row ids, default all), REFERENCES_TEST (held-out samples per
// site, default 300).
import { execSync } from 'node:child_process';
import { DEFAULT_CONFIG } from '../apps/coordinator/src/config.js';
import { modelSourceFromConfig } from '../apps/coordinator/src/model-source.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import {
  federationRunOf,
  labSites,
  majorityOf,
  runCentral,
  runFederation,
  summarize,
  type LabEval,
  type LabSite,
} from './lib/fedlab.js';
import type { BenchResult } from './types.js';

const list = (v: string | undefined, d: string) => (v ?? d).split(',').filter(Boolean);
const CLIENTS = list(process.env.REFERENCES_CLIENTS, '4,9').map(Number);
const SEEDS = list(process.env.REFERENCES_SEEDS, '0,1,2').map(Number);
const ROWS = process.env.REFERENCES_ROWS ? new Set(list(process.env.REFERENCES_ROWS, '')) : null;
const TEST = Number(process.env.REFERENCES_TEST ?? 300);

/** The old defaults (issue table): AdamW 3e-3 locally, plain FedAvg, no answer mask. */
const OLD = { lr: 3e-3, local: { optimizer: 'adamw', answerMask: 'none' } } as const;

interface SeedOutcome {
  eval: LabEval;
  /** Lowest modality accuracy over sites and rounds >= 2 (federations only). */
  modalityFromRound2?: number;
}

interface RowDef {
  id: string;
  what: string;
  /** Only for these client counts (default: all). */
  clients?: number[];
  run(base: Uint8Array, sites: LabSite[], seed: number, k: number): Promise<SeedOutcome>;
}

const R = DEFAULT_CONFIG.rounds;
const K = DEFAULT_CONFIG.steps;
const B = DEFAULT_CONFIG.batchSize;
const recipe = federationRunOf(DEFAULT_CONFIG);

async function aloneEach(
  base: Uint8Array,
  sites: LabSite[],
  seed: number,
  local: { optimizer: 'adamw'; answerMask: 'none' | 'question-type' },
): Promise<SeedOutcome> {
  const perSite: LabEval['perSite'] = {};
  for (const s of sites) {
    const e = await runCentral(
      base,
      s.train,
      [s],
      { steps: R * K, batchSize: B, lr: 3e-3, local },
      seed,
    );
    perSite[s.name] = e.perSite[s.name];
  }
  const n = sites.reduce((a, s) => a + s.test.length, 0);
  const accs = Object.values(perSite).map((e) => e.accuracy);
  return {
    eval: {
      accuracy: Object.values(perSite).reduce((a, e) => a + e.accuracy * e.n, 0) / n,
      siteMean: accs.reduce((a, b) => a + b, 0) / accs.length,
      perSite,
    },
  };
}

async function federation(
  base: Uint8Array,
  sites: LabSite[],
  seed: number,
  run: Parameters<typeof runFederation>[2],
): Promise<SeedOutcome> {
  const trace = await runFederation(base, sites, run, seed);
  const mods = trace.rounds
    .filter((r) => r.round >= 2)
    .flatMap((r) => Object.values(r.eval.perSite).map((e) => e.perType.modality?.accuracy ?? 1));
  return { eval: trace.final, modalityFromRound2: Math.min(...mods) };
}

const pooled = (sites: LabSite[]) => sites.flatMap((s) => s.train);

const ROW_DEFS: RowDef[] = [
  {
    id: 'majority',
    what: 'majority answer per site',
    run: async (_b, sites) => {
      const perSite: LabEval['perSite'] = {};
      for (const s of sites)
        perSite[s.name] = { accuracy: majorityOf(s), n: s.test.length, perType: {}, foreign: 0 };
      const n = sites.reduce((a, s) => a + s.test.length, 0);
      const accs = Object.values(perSite).map((e) => e.accuracy);
      return {
        eval: {
          accuracy: Object.values(perSite).reduce((a, e) => a + e.accuracy * e.n, 0) / n,
          siteMean: accs.reduce((a, b) => a + b, 0) / accs.length,
          perSite,
        },
      };
    },
  },
  {
    id: 'alone',
    what: `each site alone, ${R * K} steps x ${B}, AdamW 3e-3`,
    run: (b, sites, seed) => aloneEach(b, sites, seed, { optimizer: 'adamw', answerMask: 'none' }),
  },
  {
    id: 'alone-mask',
    what: `each site alone, ${R * K} steps x ${B}, AdamW 3e-3, question-type answer mask`,
    run: (b, sites, seed) =>
      aloneEach(b, sites, seed, { optimizer: 'adamw', answerMask: 'question-type' }),
  },
  {
    id: 'pooled-same',
    what: `pooled, ${R * K} steps x ${B}*sites (same samples and sequential steps), AdamW 3e-3`,
    run: async (b, sites, seed, k) => ({
      eval: await runCentral(
        b,
        pooled(sites),
        sites,
        { steps: R * K, batchSize: B * k, ...OLD },
        seed,
      ),
    }),
  },
  {
    id: 'pooled-same-mask',
    what: `pooled, ${R * K} steps x ${B}*sites, AdamW 3e-3, question-type answer mask`,
    run: async (b, sites, seed, k) => ({
      eval: await runCentral(
        b,
        pooled(sites),
        sites,
        { steps: R * K, batchSize: B * k, lr: 3e-3, local: { answerMask: 'question-type' } },
        seed,
      ),
    }),
  },
  {
    id: 'pooled-one-batch',
    what: `pooled, ${R * K} steps x ${B} (one site's batch), AdamW 3e-3`,
    run: async (b, sites, seed) => ({
      eval: await runCentral(b, pooled(sites), sites, { steps: R * K, batchSize: B, ...OLD }, seed),
    }),
  },
  {
    id: 'pooled-4x-steps',
    what: `pooled, ${4 * R * K} steps x ${B}, AdamW 3e-3 (the stretch reference)`,
    clients: [4],
    run: async (b, sites, seed) => ({
      eval: await runCentral(
        b,
        pooled(sites),
        sites,
        { steps: 4 * R * K, batchSize: B, ...OLD },
        seed,
      ),
    }),
  },
  {
    id: 'fedavg-old',
    what: `federation, old recipe: ${R} x ${K} steps, AdamW 3e-3, FedAvg, all adapters`,
    run: (b, sites, seed) =>
      federation(b, sites, seed, {
        ...recipe,
        ...OLD,
        server: { name: 'fedavg' },
        strategy: 'full',
      }),
  },
  {
    id: 'recipe-full',
    what: 'federation, DEFAULT_CONFIG recipe, all adapters',
    run: (b, sites, seed) => federation(b, sites, seed, { ...recipe, strategy: 'full' }),
  },
  {
    id: 'recipe-f3ocus',
    what: 'federation, DEFAULT_CONFIG recipe, F3OCUS at budget 2 of 6',
    run: (b, sites, seed) =>
      federation(b, sites, seed, { ...recipe, strategy: 'f3ocus', budget: 2 }),
  },
];

const pct = (x: number) => +(100 * x).toFixed(2);

function assetHash(): string {
  try {
    return execSync('git log -1 --format=%h -- packages/core/assets/tiny-base.safetensors', {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

export async function run(): Promise<BenchResult> {
  await initNodeBackend('wasm');
  const rows: Record<string, unknown>[] = [];
  const raw: Record<string, unknown>[] = [];
  const notes: string[] = [];
  for (const k of CLIENTS) {
    const results = new Map<string, SeedOutcome[]>();
    const seconds = new Map<string, number>();
    for (const seed of SEEDS) {
      const sites = labSites(k, seed, { testSize: TEST });
      const base = modelSourceFromConfig({ preset: 'tiny', modelSeed: seed }).baseBytes!;
      for (const def of ROW_DEFS) {
        if (ROWS && !ROWS.has(def.id)) continue;
        if (def.clients && !def.clients.includes(k)) continue;
        const t0 = performance.now();
        const out = await def.run(base, sites, seed, k);
        seconds.set(def.id, (seconds.get(def.id) ?? 0) + (performance.now() - t0) / 1000);
        const list = results.get(def.id) ?? [];
        list.push(out);
        results.set(def.id, list);
        raw.push({
          clients: k,
          row: def.id,
          seed,
          accuracy: out.eval.accuracy,
          perSite: Object.fromEntries(
            Object.entries(out.eval.perSite).map(([n, e]) => [n, +e.accuracy.toFixed(4)]),
          ),
          modality: Object.fromEntries(
            Object.entries(out.eval.perSite).map(([n, e]) => [
              n,
              e.perType.modality?.accuracy ?? null,
            ]),
          ),
          modalityFromRound2: out.modalityFromRound2,
        });
        process.stderr.write(
          `references: ${k} sites, seed ${seed}, ${def.id}: ${pct(out.eval.accuracy)} %\n`,
        );
      }
    }
    const ref = results.get('pooled-same');
    const majority = results.get('majority');
    const alone = results.get('alone');
    for (const def of ROW_DEFS) {
      const outs = results.get(def.id);
      if (!outs) continue;
      const acc = summarize(outs.map((o) => o.eval.accuracy));
      const names = Object.keys(outs[0].eval.perSite);
      const perSite = names
        .map((n) => pct(summarize(outs.map((o) => o.eval.perSite[n].accuracy)).mean).toFixed(0))
        .join(' / ');
      const row: Record<string, unknown> = {
        sites: k,
        row: def.id,
        'acc % (mean ± sd)': `${pct(acc.mean)} ± ${pct(acc.sd)}`,
        'ci95 ±': Number.isNaN(acc.ci95) ? null : pct(acc.ci95),
        'site mean %': pct(summarize(outs.map((o) => o.eval.siteMean)).mean),
        'per site %': perSite,
      };
      if (ref && ref.length === outs.length && def.id !== 'pooled-same') {
        const ratio = summarize(outs.map((o, i) => o.eval.accuracy / ref[i].eval.accuracy));
        row['/ pooled-same'] =
          `${ratio.mean.toFixed(3)} ± ${Number.isNaN(ratio.ci95) ? '-' : ratio.ci95.toFixed(3)}`;
      }
      if (majority && majority.length === outs.length && def.id !== 'majority') {
        // Worst site margin over its majority answer, averaged over seeds.
        row['min site - majority (pts)'] = pct(
          summarize(
            outs.map((o, i) =>
              Math.min(
                ...names.map(
                  (n) => o.eval.perSite[n].accuracy - majority[i].eval.perSite[n].accuracy,
                ),
              ),
            ),
          ).mean,
        );
      }
      if (alone && alone.length === outs.length && def.id.startsWith('recipe')) {
        const d = summarize(outs.map((o, i) => o.eval.siteMean - alone[i].eval.siteMean));
        row['site mean - alone (pts)'] =
          `${pct(d.mean)} ± ${Number.isNaN(d.ci95) ? '-' : pct(d.ci95)}`;
      }
      if (outs[0].modalityFromRound2 !== undefined) {
        row['min modality % (rounds >= 2)'] = pct(
          Math.min(...outs.map((o) => o.modalityFromRound2!)),
        );
      }
      row.what = def.what;
      row['s / seed'] = +((seconds.get(def.id) ?? 0) / outs.length).toFixed(0);
      rows.push(row);
    }
  }
  notes.push(
    `seeds ${SEEDS.join(', ')}; held-out ${TEST} samples per site (an independent draw of each site's generator); training splits are the default synthetic clients.`,
    `recipe (DEFAULT_CONFIG): ${R} rounds x ${K} steps x ${B}, local ${DEFAULT_CONFIG.localOptimizer} lr ${DEFAULT_CONFIG.lr} momentum ${DEFAULT_CONFIG.momentum}, proxMu ${DEFAULT_CONFIG.proxMu}, answer mask ${DEFAULT_CONFIG.answerMask}, server ${JSON.stringify(DEFAULT_CONFIG.serverOptimizer)}.`,
    `ci95: t interval of the mean over seeds; '/ pooled-same': per-seed ratio to pooled training at the same samples and sequential steps (mean ± ci95).`,
    `tiny base: packages/core/assets/tiny-base.safetensors at commit ${assetHash()}.`,
  );
  return { name: 'references', rows, notes, ...{ raw } };
}
