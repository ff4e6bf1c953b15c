// The reference set every learning claim is measured against (docs/federated-recipe.md):
// majority answer, each site alone, pooled (centralized) training at the same samples and
// sequential steps as the federation (with and without the recipe's answer rule), pooled with
// one site's batch, and the federation itself (the old FedAvg + AdamW recipe, DEFAULT_CONFIG's
// recipe with all adapters and with F3OCUS at budget 2), over several seeds. Every job is one
// `scripts/fedlab.ts` process on the in-process federation lab (bench/lib/fedlab.ts: the
// engine's trainLayers, masked aggregation, server optimiser and evaluation).
//
// Env: REFERENCES_CLIENTS (default "4,9"), REFERENCES_SEEDS (default "0,1,2"),
// REFERENCES_ROWS (comma-separated row ids, default all), REFERENCES_TEST (held-out samples per
// site, default 300), REFERENCES_JOBS (parallel jobs, default 1), REFERENCES_NAME (results file
// name, default "references"), REFERENCES_DIR (folder of the jobs' outputs, kept: a job whose
// output is there is not run again, so a long run resumes), REFERENCES_COLLECT=1 (only
// summarise the outputs already in REFERENCES_DIR), REFERENCES_SKIP (jobs not to start, as
// "clients:row:seed,...", e.g. ones another process is running).
// Jobs run by row priority (the federation and its pooled reference first), then by seed, so a
// run stopped early has the headline rows for every seed.
import { execFile, execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../apps/coordinator/src/config.js';
import { federationRunOf, summarize } from './lib/fedlab.js';
import type { BenchResult } from './types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const list = (v: string | undefined, d: string) => (v ?? d).split(',').filter(Boolean);
const CLIENTS = list(process.env.REFERENCES_CLIENTS, '4,9').map(Number);
const SEEDS = list(process.env.REFERENCES_SEEDS, '0,1,2').map(Number);
const ROWS = process.env.REFERENCES_ROWS ? new Set(list(process.env.REFERENCES_ROWS, '')) : null;
const TEST = Number(process.env.REFERENCES_TEST ?? 300);
const JOBS = Math.max(1, Number(process.env.REFERENCES_JOBS ?? 1));
const DIR = process.env.REFERENCES_DIR;
const COLLECT = process.env.REFERENCES_COLLECT === '1';
const SKIP = new Set(list(process.env.REFERENCES_SKIP, ''));
/** Run order of the rows (the rest follow in ROW_DEFS order). */
const PRIORITY = [
  'majority',
  'recipe-full',
  'alone-rule',
  'personal-finetune',
  'personal-adapters',
  'personal-finetune-f3ocus',
  'alone',
  'pooled-same',
  'recipe-f3ocus',
  'pooled-same-rule',
  'recipe-layer-head',
];

const R = DEFAULT_CONFIG.rounds;
const K = DEFAULT_CONFIG.steps;
const B = DEFAULT_CONFIG.batchSize;
const recipe = federationRunOf(DEFAULT_CONFIG);
const RULE = DEFAULT_CONFIG.answerMask;
/** The old local training (issue table): AdamW 3e-3, plain FedAvg, no answer mask. */
const OLD = { lr: 3e-3, local: { optimizer: 'adamw', answerMask: 'none' } };
/** The recipe's local training for the reference rows: AdamW 3e-3 under the recipe's answer rule. */
const RULED = { lr: 3e-3, local: { optimizer: 'adamw', answerMask: RULE } };

/**
 * A federation row: the DEFAULT_CONFIG recipe, all adapters, evaluated after rounds 2-5 (for
 * the modality item and the by-round means), with `over` on top.
 */
const recipeFederation = (over: Record<string, unknown>): Record<string, unknown> => ({
  kind: 'fed',
  ...recipe,
  strategy: 'full',
  evalRounds: [2, 3, 4, 5],
  ...over,
});

interface RowDef {
  id: string;
  what: string;
  /** Only for these client counts (default: all). */
  clients?: number[];
  spec(k: number): Record<string, unknown>;
}

const ROW_DEFS: RowDef[] = [
  { id: 'majority', what: 'majority answer per site', spec: () => ({ kind: 'majority' }) },
  {
    id: 'alone',
    what: `each site alone, ${R * K} steps x ${B}, AdamW 3e-3`,
    spec: () => ({ kind: 'alone', steps: R * K, batchSize: B, ...OLD }),
  },
  {
    id: 'alone-rule',
    what: `each site alone, ${R * K} steps x ${B}, AdamW 3e-3, answer mask '${RULE}' (the recipe's rule)`,
    spec: () => ({
      kind: 'alone',
      steps: R * K,
      batchSize: B,
      ...RULED,
    }),
  },
  {
    id: 'alone-rule-restarts',
    what: `each site alone under the '${RULE}' rule, ${R} x ${K} steps x ${B} with AdamW restarted every ${K} steps (as the federation's rounds restart it): the reference that separates the optimiser restarts from federation`,
    spec: () => ({
      kind: 'alone',
      steps: R * K,
      restarts: R,
      batchSize: B,
      ...RULED,
    }),
  },
  {
    id: 'pooled-same',
    what: `pooled, ${R * K} steps x ${B}*sites (same samples and sequential steps), AdamW 3e-3`,
    spec: (k) => ({ kind: 'pooled', steps: R * K, batchSize: B * k, ...OLD }),
  },
  {
    id: 'pooled-same-rule',
    what: `pooled, ${R * K} steps x ${B}*sites, AdamW 3e-3, answer mask '${RULE}' (the recipe's rule)`,
    spec: (k) => ({
      kind: 'pooled',
      steps: R * K,
      batchSize: B * k,
      ...RULED,
    }),
  },
  {
    id: 'pooled-one-batch',
    what: `pooled, ${R * K} steps x ${B} (one site's batch), AdamW 3e-3`,
    spec: () => ({ kind: 'pooled', steps: R * K, batchSize: B, ...OLD }),
  },
  {
    id: 'pooled-4x-steps',
    what: `pooled, ${4 * R * K} steps x ${B}, AdamW 3e-3 (the stretch reference)`,
    clients: [4],
    spec: () => ({ kind: 'pooled', steps: 4 * R * K, batchSize: B, ...OLD }),
  },
  {
    // The most a single shared model can give a site on this data: centralised training of
    // every site's samples under the same rule, in as many steps of one site's batch as all
    // sites together take in the federation (each site's samples then reach the model as often
    // as they do when the site trains alone, in k times the sequential steps). If even this
    // row does not beat alone-rule, no shared model can: there is no transfer to pass on
    // (docs/federated-recipe.md, "Why the federation does not beat a site training alone").
    id: 'pooled-sites-x-steps-rule',
    what: `pooled, sites x ${R * K} steps x ${B}, AdamW 3e-3, answer mask '${RULE}': every site's samples as often as alone-rule's, in sites times the sequential steps`,
    spec: (k) => ({
      kind: 'pooled',
      steps: k * R * K,
      batchSize: B,
      ...RULED,
    }),
  },
  {
    id: 'fedavg-old',
    what: `federation, old recipe: ${R} x ${K} steps, AdamW 3e-3, FedAvg, all adapters`,
    spec: () =>
      recipeFederation({
        ...OLD,
        server: { name: 'fedavg' },
      }),
  },
  {
    id: 'recipe-full',
    what: 'federation, DEFAULT_CONFIG recipe, all adapters',
    spec: () => recipeFederation({}),
  },
  {
    id: 'recipe-layer-head',
    what: "federation, DEFAULT_CONFIG recipe with the head averaged per layer (headAggregation 'layer', the earlier default), all adapters",
    spec: () =>
      recipeFederation({
        headAggregation: 'layer',
      }),
  },
  {
    id: 'personal-finetune',
    what: "federation, DEFAULT_CONFIG recipe, all adapters, personalization 'finetune': each site evaluated on its own model of its last local training (the round-4 global model + its 30 round-5 steps; 150 local steps in all, as alone-rule); shared = the global model of the same run",
    spec: () =>
      recipeFederation({
        personalization: 'finetune',
      }),
  },
  {
    id: 'personal-finetune-f3ocus',
    what: "federation, DEFAULT_CONFIG recipe, F3OCUS at budget 2 of 6, personalization 'finetune'",
    spec: () =>
      recipeFederation({
        strategy: 'f3ocus',
        budget: 2,
        personalization: 'finetune',
      }),
  },
  {
    id: 'personal-adapters',
    what: "federation, DEFAULT_CONFIG recipe, all adapters, personalization 'adapters' (LG-FedAvg-style: each site's adapters kept on the site across rounds and never sent, the head shared); each site evaluated on its adapters + the head of its last local training; shared = the global model (base adapters + the shared head)",
    spec: () =>
      recipeFederation({
        personalization: 'adapters',
      }),
  },
  {
    id: 'personal-adapters-mix',
    what: "federation, DEFAULT_CONFIG recipe, all adapters, personalization 'adapters', each site predicting with the mixture 0.9 x its own model's + 0.1 x the shared model's answer probabilities (model interpolation of outputs, Mansour et al., 2020; lab option personalMix; λ 0.9 chosen on 4 sites, seeds 0-2, docs/federated-recipe.md); shared = the global model",
    spec: () =>
      recipeFederation({
        personalization: 'adapters',
        personalMix: 0.9,
      }),
  },
  {
    id: 'personal-proximal',
    what: "federation, DEFAULT_CONFIG recipe, all adapters, personalization 'proximal' with proxMu 0.01 (each site keeps its whole model across rounds, pulled toward the global one, and sends its model minus the global one; 150 local steps in all, as alone-rule); shared = the global model (the mean of the sites' models)",
    spec: () =>
      recipeFederation({
        local: { ...recipe.local, proxMu: 0.01 },
        personalization: 'proximal',
      }),
  },
  {
    id: 'personal-head',
    what: 'federation, DEFAULT_CONFIG recipe, all adapters, FedPer-style personal head (lab option personalHead: each site keeps its own head across rounds and sends the adapters only); each site evaluated on the global adapters with its head',
    spec: () =>
      recipeFederation({
        personalHead: true,
      }),
  },
  {
    id: 'personal-ditto',
    clients: [4],
    what: `federation, DEFAULT_CONFIG recipe, all adapters, Ditto (lab option ditto, lambda 0.1): besides its ${K} global steps a round each site trains its own model ${K} steps from its last one, pulled toward the global model (${2 * R * K} local steps a site in all: compare with alone-rule-2x)`,
    spec: () =>
      recipeFederation({
        ditto: { lambda: 0.1 },
      }),
  },
  {
    id: 'alone-rule-2x',
    clients: [4],
    what: `each site alone, ${2 * R * K} steps x ${B}, AdamW 3e-3, answer mask '${RULE}': the reference for a personalisation that takes ${2 * R * K} local steps a site (personal-ditto)`,
    spec: () => ({
      kind: 'alone',
      steps: 2 * R * K,
      batchSize: B,
      ...RULED,
    }),
  },
  {
    id: 'recipe-f3ocus',
    what: 'federation, DEFAULT_CONFIG recipe, F3OCUS at budget 2 of 6',
    spec: () =>
      recipeFederation({
        strategy: 'f3ocus',
        budget: 2,
      }),
  },
];

interface SeedResult {
  seed: number;
  accuracy: number;
  siteMean: number;
  perSite: Record<string, number>;
  modality: Record<string, number>;
  byRound?: {
    round: number;
    accuracy: number;
    modality: Record<string, number>;
    shared?: { accuracy: number };
  }[];
  /** Personalised rows: the shared global model of the same run (the fields above: each
   * site's own model). */
  shared?: { accuracy: number; siteMean: number; perSite: Record<string, number> };
  seconds: number;
}

interface Job {
  clients: number;
  row: RowDef;
  seed: number;
  result?: SeedResult;
}

const outputOf = (job: Job, dir: string) =>
  join(dir, `${job.clients}-${job.row.id}-${job.seed}.json`);

function readJob(job: Job, dir: string): boolean {
  const out = outputOf(job, dir);
  if (!existsSync(out)) return false;
  job.result = (JSON.parse(readFileSync(out, 'utf8')) as { results: SeedResult[] }).results[0];
  return true;
}

function runJob(job: Job, dir: string): Promise<void> {
  const out = outputOf(job, dir);
  const args = [
    'exec',
    'tsx',
    'scripts/fedlab.ts',
    '--run',
    JSON.stringify(job.row.spec(job.clients)),
    '--seeds',
    String(job.seed),
    '--clients',
    String(job.clients),
    '--test-size',
    String(TEST),
    '--out',
    out,
  ];
  return new Promise((resolve, reject) => {
    execFile('pnpm', args, { cwd: root, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      if (err) return reject(new Error(`${job.row.id} seed ${job.seed}: ${stderr || err.message}`));
      job.result = (JSON.parse(readFileSync(out, 'utf8')) as { results: SeedResult[] }).results[0];
      process.stderr.write(
        `references: ${job.clients} sites, seed ${job.seed}, ${job.row.id}: ${(100 * job.result.accuracy).toFixed(1)} % (${job.result.seconds} s)\n`,
      );
      resolve();
    });
  });
}

/** Jobs whose output was already in REFERENCES_DIR (not run by this invocation). */
const reused: string[] = [];

async function runAll(jobs: Job[]): Promise<void> {
  const dir = DIR ?? mkdtempSync(join(tmpdir(), 'focus-fl-references-'));
  mkdirSync(dir, { recursive: true });
  const todo = jobs.filter((j) => {
    if (readJob(j, dir)) {
      reused.push(`${j.clients}:${j.row.id}:${j.seed}`);
      return false;
    }
    return !COLLECT && !SKIP.has(`${j.clients}:${j.row.id}:${j.seed}`);
  });
  let next = 0;
  const worker = async () => {
    while (next < todo.length) await runJob(todo[next++], dir);
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
  // Outputs another process wrote meanwhile (REFERENCES_SKIP) count too.
  for (const j of jobs) if (!j.result) readJob(j, dir);
}

const pct = (x: number) => +(100 * x).toFixed(2);
const pm = (s: { mean: number; ci95: number }, scale = 100, digits = 2) =>
  `${(scale * s.mean).toFixed(digits)} ± ${Number.isNaN(s.ci95) ? '-' : (scale * s.ci95).toFixed(digits)}`;

function assetHash(): string {
  try {
    return execSync('git log -1 --format=%h -- packages/core/assets/tiny-base.safetensors', {
      cwd: root,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

export async function run(): Promise<BenchResult> {
  const rank = (id: string) => {
    const i = PRIORITY.indexOf(id);
    return i < 0 ? PRIORITY.length + ROW_DEFS.findIndex((r) => r.id === id) : i;
  };
  const ordered = [...ROW_DEFS].sort((a, b) => rank(a.id) - rank(b.id));
  const all: Job[] = [];
  for (const clients of CLIENTS)
    for (const row of ordered)
      for (const seed of SEEDS) {
        if (ROWS && !ROWS.has(row.id)) continue;
        if (row.clients && !row.clients.includes(clients)) continue;
        all.push({ clients, row, seed });
      }
  const loadBefore = loadavg().map((x) => +x.toFixed(1));
  const t0 = Date.now();
  await runAll(all);
  const loadAfter = loadavg().map((x) => +x.toFixed(1));
  // Rows are summarised over the seeds that have an output (all of them unless stopped early).
  const jobs = all.filter((j) => j.result);

  const rows: Record<string, unknown>[] = [];
  for (const clients of CLIENTS) {
    const of = (id: string) =>
      jobs.filter((j) => j.clients === clients && j.row.id === id).map((j) => j.result!);
    const ref = of('pooled-same');
    const refRule = of('pooled-same-rule');
    const majority = of('majority');
    const alone = of('alone');
    const aloneRule = of('alone-rule');
    const aloneRestarts = of('alone-rule-restarts');
    const alone2x = of('alone-rule-2x');
    for (const def of ROW_DEFS) {
      const outs = of(def.id);
      if (outs.length === 0) continue;
      const names = Object.keys(outs[0].perSite);
      const row: Record<string, unknown> = {
        sites: clients,
        row: def.id,
        seeds: outs.map((o) => o.seed).join(','),
        'acc % (mean ± ci95)': pm(summarize(outs.map((o) => o.accuracy))),
        sd: pct(summarize(outs.map((o) => o.accuracy)).sd),
        'per site %': names
          .map((n) => (100 * summarize(outs.map((o) => o.perSite[n])).mean).toFixed(0))
          .join(' / '),
      };
      // Paired comparisons use the seeds both rows have.
      const pairs = (other: SeedResult[]) =>
        outs.flatMap((o) => {
          const m = other.find((x) => x.seed === o.seed);
          return m ? [[o, m] as const] : [];
        });
      const ratio = (other: SeedResult[]) =>
        pm(summarize(pairs(other).map(([o, m]) => o.accuracy / m.accuracy)), 1, 3);
      if (def.id !== 'pooled-same' && pairs(ref).length) row['/ pooled-same'] = ratio(ref);
      if (
        def.id !== 'pooled-same-rule' &&
        (def.id.startsWith('recipe') || def.id.startsWith('personal')) &&
        pairs(refRule).length
      )
        row['/ pooled-same-rule'] = ratio(refRule);
      if (def.id !== 'majority' && pairs(majority).length)
        row['min site - majority (pts)'] = pct(
          Math.min(
            ...pairs(majority).flatMap(([o, m]) => names.map((n) => o.perSite[n] - m.perSite[n])),
          ),
        );
      const fedRow = def.id.startsWith('recipe') || def.id.startsWith('personal');
      if (def.id.startsWith('personal') && outs.every((o) => o.shared)) {
        const sh = outs.map((o) => o.shared!);
        row['shared acc % (mean ± ci95)'] = pm(summarize(sh.map((x) => x.accuracy)));
        row['shared per site %'] = names
          .map((n) => (100 * summarize(sh.map((x) => x.perSite[n])).mean).toFixed(0))
          .join(' / ');
        // Paired within the run: each site's own model minus the global model, site mean.
        row['site mean - shared (pts)'] = pm(
          summarize(outs.map((o) => o.siteMean - o.shared!.siteMean)),
        );
        if (pairs(aloneRule).length)
          row['shared site mean - alone-rule (pts)'] = pm(
            summarize(pairs(aloneRule).map(([o, m]) => o.shared!.siteMean - m.siteMean)),
          );
        if (pairs(refRule).length)
          row['shared / pooled-same-rule'] = pm(
            summarize(pairs(refRule).map(([o, m]) => o.shared!.accuracy / m.accuracy)),
            1,
            3,
          );
      }
      // Also for pooled training: whether pooling other sites' samples helps a site at all.
      const againstAlone =
        fedRow || def.id.startsWith('pooled') || def.id.startsWith('alone-rule-');
      if (againstAlone && pairs(aloneRule).length)
        row['site mean - alone-rule, seed by seed (pts)'] = pairs(aloneRule)
          .map(([o, m]) => (100 * (o.siteMean - m.siteMean)).toFixed(2))
          .join(' / ');
      if (def.id === 'personal-ditto' && pairs(alone2x).length)
        row['site mean - alone-rule-2x (pts)'] = pm(
          summarize(pairs(alone2x).map(([o, m]) => o.siteMean - m.siteMean)),
        );
      if (fedRow && pairs(aloneRestarts).length)
        row['site mean - alone-rule-restarts (pts)'] = pm(
          summarize(pairs(aloneRestarts).map(([o, m]) => o.siteMean - m.siteMean)),
        );
      if (againstAlone && !fedRow && pairs(aloneRule).length)
        row['site mean - alone-rule (pts)'] = pm(
          summarize(pairs(aloneRule).map(([o, m]) => o.siteMean - m.siteMean)),
        );
      if (fedRow && pairs(alone).length)
        row['site mean - alone (pts)'] = pm(
          summarize(pairs(alone).map(([o, m]) => o.siteMean - m.siteMean)),
        );
      if (fedRow && pairs(aloneRule).length) {
        row['site mean - alone-rule (pts)'] = pm(
          summarize(pairs(aloneRule).map(([o, m]) => o.siteMean - m.siteMean)),
        );
        // Per site, mean over seeds of (federation - that site alone under the same rule).
        row['per site - alone-rule (pts)'] = names
          .map((n) =>
            (
              100 * summarize(pairs(aloneRule).map(([o, m]) => o.perSite[n] - m.perSite[n])).mean
            ).toFixed(1),
          )
          .join(' / ');
      }
      if (outs[0].byRound) {
        const mods = outs.flatMap((o) =>
          o.byRound!.filter((r) => r.round >= 2).flatMap((r) => Object.values(r.modality)),
        );
        row['min modality % (rounds >= 2)'] = pct(Math.min(...mods.filter((x) => x === x)));
        row['acc % by round (mean)'] = outs[0]
          .byRound!.map((r, i) =>
            (100 * summarize(outs.map((o) => o.byRound![i].accuracy)).mean).toFixed(1),
          )
          .join(' / ');
      }
      row.what = def.what;
      row['s / seed'] = +summarize(outs.map((o) => o.seconds)).mean.toFixed(0);
      rows.push(row);
    }
  }
  const notes = [
    `seeds ${SEEDS.join(', ')}; held-out ${TEST} samples per site (an independent draw of each site's generator); training splits are the default synthetic clients.`,
    `recipe (DEFAULT_CONFIG): ${R} rounds x ${K} steps x ${B}, local ${DEFAULT_CONFIG.localOptimizer} lr ${DEFAULT_CONFIG.lr} momentum ${DEFAULT_CONFIG.momentum}, proxMu ${DEFAULT_CONFIG.proxMu}, answer mask ${RULE}, server ${JSON.stringify(DEFAULT_CONFIG.serverOptimizer)}, head aggregation ${DEFAULT_CONFIG.headAggregation}.`,
    'ci95: t interval of the mean over seeds; "/ pooled-same(-rule)": per-seed ratio to pooled training at the same samples and sequential steps (mean ± ci95); "min site - majority": the worst site and seed.',
    `tiny base: packages/core/assets/tiny-base.safetensors at commit ${assetHash()}.`,
    'seconds include contention on the shared 2-core machine.',
    `command: ${Object.entries(process.env)
      .filter(([k]) => k.startsWith('REFERENCES_'))
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(' ')} pnpm bench references; ${
      reused.length
        ? `${reused.length} job outputs were read from REFERENCES_DIR, not run by this invocation (${reused.join(', ')})`
        : 'every job was run by this invocation'
    }; wall ${((Date.now() - t0) / 60000).toFixed(1)} min; load average (1, 5, 15 min) ${loadBefore.join(' ')} at the start, ${loadAfter.join(' ')} at the end.`,
  ];
  const raw = jobs.map((j) => ({ clients: j.clients, row: j.row.id, ...j.result }));
  return { name: process.env.REFERENCES_NAME ?? 'references', rows, notes, ...{ raw } };
}
