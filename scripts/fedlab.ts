// `pnpm fedlab --run JSON [--seeds 0,1,2] [--clients 4 | --sites oct,oct,...] [--test-size 300] [--out FILE]`
//
// One learning experiment on the in-process federation lab (bench/lib/fedlab.ts), for every
// seed: `{"kind":"fed", rounds, steps, batchSize, lr, strategy?, budget?, server?, local?}`,
// `{"kind":"pooled", steps, batchSize, lr, local?, restarts?}`, `{"kind":"alone", ...}` (each site on its
// own data) or `{"kind":"majority"}`. A personalised federation (`personalization`, core
// federated/personalization.ts) reports every site's own model, and the global model under
// `shared`. Prints one JSON line per seed and a summary line; with
// --out also writes them to FILE.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import { modelSourceFromConfig } from '../apps/coordinator/src/model-source.js';
import type { ClientName } from '../packages/core/src/data/index.js';
import {
  labSites,
  majorityOf,
  runCentral,
  runFederation,
  summarize,
  type CentralRun,
  type FederationRun,
  type LabEval,
} from '../bench/lib/fedlab.js';

type Spec =
  | ({ kind: 'fed' } & FederationRun)
  | ({ kind: 'pooled' } & CentralRun)
  | ({ kind: 'alone' } & CentralRun)
  | { kind: 'majority' };

export interface SeedResult {
  seed: number;
  accuracy: number;
  siteMean: number;
  perSite: Record<string, number>;
  modality: Record<string, number>;
  foreign: Record<string, number>;
  /** Per site: accuracy of each question type. */
  perType?: Record<string, Record<string, number>>;
  byRound?: {
    round: number;
    accuracy: number;
    perSite: Record<string, number>;
    modality: Record<string, number>;
    /** The shared global model's, when the run is personalised. */
    shared?: { accuracy: number; siteMean: number; perSite: Record<string, number> };
  }[];
  /** The shared global model after the last round, when the run is personalised (the fields
   * above are then every site's own model). */
  shared?: { accuracy: number; siteMean: number; perSite: Record<string, number> };
  /** With `mixGrid`: the mixture of each site's own and the shared model at each λ. */
  mixes?: {
    lambda: number;
    accuracy: number;
    siteMean: number;
    perSite: Record<string, number>;
  }[];
  seconds: number;
}

const r4 = (x: number) => Math.round(x * 10000) / 10000;

function flat(ev: LabEval) {
  const perSite: Record<string, number> = {};
  const modality: Record<string, number> = {};
  const foreign: Record<string, number> = {};
  const perType: Record<string, Record<string, number>> = {};
  for (const [k, v] of Object.entries(ev.perSite)) {
    perType[k] = Object.fromEntries(Object.entries(v.perType).map(([t, x]) => [t, r4(x.accuracy)]));
    perSite[k] = r4(v.accuracy);
    modality[k] = r4(v.perType.modality?.accuracy ?? NaN);
    foreign[k] = r4(v.foreign);
  }
  return {
    accuracy: r4(ev.accuracy),
    siteMean: r4(ev.siteMean),
    perSite,
    modality,
    foreign,
    perType,
  };
}

export async function runSpec(
  spec: Spec,
  seed: number,
  clients: number,
  testSize: number,
  siteClients?: readonly ClientName[],
): Promise<SeedResult> {
  const t0 = performance.now();
  const sites = labSites(clients, seed, { testSize, clients: siteClients });
  const base = modelSourceFromConfig({ preset: 'tiny', modelSeed: seed }).baseBytes!;
  let ev: LabEval;
  let byRound: SeedResult['byRound'];
  let shared: SeedResult['shared'];
  let mixes: SeedResult['mixes'];
  const brief = (e: LabEval) => {
    const f = flat(e);
    return { accuracy: f.accuracy, siteMean: f.siteMean, perSite: f.perSite };
  };
  if (spec.kind === 'majority') {
    const perSite = Object.fromEntries(sites.map((s) => [s.name, r4(majorityOf(s))]));
    const n = sites.reduce((a, s) => a + s.test.length, 0);
    const acc = sites.reduce((a, s) => a + majorityOf(s) * s.test.length, 0) / n;
    const vals = Object.values(perSite);
    return {
      seed,
      accuracy: r4(acc),
      siteMean: r4(vals.reduce((a, b) => a + b, 0) / vals.length),
      perSite,
      modality: {},
      foreign: {},
      seconds: 0,
    };
  } else if (spec.kind === 'pooled') {
    ev = await runCentral(
      base,
      sites.flatMap((s) => s.train),
      sites,
      spec,
      seed,
    );
  } else if (spec.kind === 'alone') {
    const perSite: LabEval['perSite'] = {};
    for (const s of sites) {
      const e = await runCentral(base, s.train, [s], spec, seed);
      perSite[s.name] = e.perSite[s.name];
    }
    const n = sites.reduce((a, s) => a + s.test.length, 0);
    const accs = Object.values(perSite).map((e) => e.accuracy);
    ev = {
      accuracy: Object.values(perSite).reduce((a, e) => a + e.accuracy * e.n, 0) / n,
      siteMean: accs.reduce((a, b) => a + b, 0) / accs.length,
      perSite,
    };
  } else {
    const trace = await runFederation(base, sites, spec, seed);
    ev = trace.final;
    byRound = trace.rounds.map((r) => {
      const f = flat(r.eval);
      return {
        round: r.round,
        accuracy: f.accuracy,
        perSite: f.perSite,
        modality: f.modality,
        ...(r.shared && { shared: brief(r.shared) }),
      };
    });
    if (trace.finalShared) shared = brief(trace.finalShared);
    mixes = trace.finalMixes?.map((m) => ({ lambda: m.lambda, ...brief(m.eval) }));
  }
  return {
    seed,
    ...flat(ev),
    byRound,
    ...(shared && { shared }),
    ...(mixes && { mixes }),
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  };
}

/** The fields each kind of run reads: a misspelt one would otherwise be ignored silently. */
const FIELDS: Record<Spec['kind'], readonly string[]> = {
  majority: [],
  pooled: ['steps', 'batchSize', 'lr', 'local', 'restarts'],
  alone: ['steps', 'batchSize', 'lr', 'local', 'restarts'],
  fed: [
    'rounds',
    'steps',
    'batchSize',
    'lr',
    'weightDecay',
    'strategy',
    'budget',
    'server',
    'local',
    'headAggregation',
    'evalRounds',
    'personalization',
    'keepLocalOptimizer',
    'ditto',
    'personalHead',
    'adapterServerLr',
    'personalMix',
    'mixGrid',
    'finetuneAfter',
  ],
};
const LOCAL_FIELDS = [
  'optimizer',
  'momentum',
  'proxMu',
  'answerMask',
  'schedule',
  'warmupFraction',
];

function checkSpec(spec: Record<string, unknown>): Spec {
  const kind = spec.kind as Spec['kind'];
  if (!Object.hasOwn(FIELDS, kind)) {
    throw new Error(
      `--run: kind must be one of ${Object.keys(FIELDS).join(', ')}, got "${String(kind)}"`,
    );
  }
  const unknown = Object.keys(spec).filter((k) => k !== 'kind' && !FIELDS[kind].includes(k));
  const local = (spec.local ?? {}) as Record<string, unknown>;
  unknown.push(
    ...Object.keys(local)
      .filter((k) => !LOCAL_FIELDS.includes(k))
      .map((k) => `local.${k}`),
  );
  if (unknown.length) {
    throw new Error(`--run: unknown field(s) ${unknown.join(', ')} for kind "${kind}"`);
  }
  return spec as unknown as Spec;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      run: { type: 'string' },
      seeds: { type: 'string', default: '0' },
      clients: { type: 'string', default: '4' },
      'test-size': { type: 'string', default: '300' },
      out: { type: 'string' },
      label: { type: 'string' },
      // The sites' clients (comma-separated, a client may repeat) instead of the first --clients.
      sites: { type: 'string' },
    },
  });
  if (!values.run) throw new Error('--run JSON is required');
  const spec = checkSpec(JSON.parse(values.run) as Record<string, unknown>);
  const seeds = values.seeds!.split(',').map(Number);
  await initNodeBackend('wasm');
  const results: SeedResult[] = [];
  for (const seed of seeds) {
    const siteClients = values.sites?.split(',') as ClientName[] | undefined;
    const r = await runSpec(
      spec,
      seed,
      siteClients?.length ?? Number(values.clients),
      Number(values['test-size']),
      siteClients,
    );
    results.push(r);
    console.log(JSON.stringify(r));
  }
  const s = summarize(results.map((r) => r.accuracy));
  const summary = {
    label: values.label,
    spec,
    clients: Number(values.clients),
    seeds,
    accuracy: { mean: r4(s.mean), sd: r4(s.sd), ci95: r4(s.ci95) },
    results,
  };
  console.log(`SUMMARY ${values.label ?? ''} ${JSON.stringify(summary.accuracy)}`);
  if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 1) + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
