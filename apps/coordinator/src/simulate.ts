/**
 * `pnpm simulate --clients 9 --rounds R --strategy f3ocus --algo nsga2 --seed S [--json]
 *                [--parallel N]`
 *   [--local-optimizer sgdm|adamw --momentum M --prox-mu MU --answer-mask question-type|none
 *    --server-optimizer fedavg|fedavgm|fedadam|fedyogi|fedadagrad --server-lr X
 *    --server-beta1 X --server-beta2 X --server-tau X --head-aggregation layer|answer
 *    --personalization none|finetune|adapters|proximal]
 *   (the federated recipe,
 *    docs/federated-recipe.md; defaults from DEFAULT_CONFIG)
 *
 * Starts a coordinator in-process (or connects to a running one: --url http://host:port
 * --admin-token T; the federation config is then the server's) and runs N Node
 * sites on the synthetic clients (CLIENT_NAMES order) through the real ws protocol, in N
 * threads (--parallel, default one per idle core: the main thread and N - 1 workers; 1 = all
 * on the main thread). Prints a
 * per-round table, or with --json one object (stable interface):
 *   {"rounds":[{"round","accuracy","perClient","bytesUp","bytesDown","selection"}],
 *    "final":{"baseAccuracy","accuracy","perClient"},"bytesUp","bytesDown"}
 * accuracy = global held-out accuracy after the round (sample-weighted mean of the sites'
 * test-split accuracies); baseAccuracy = before round 1. With --personalization
 * finetune|adapters|proximal accuracy and perClient are the sites' own models (core
 * federated/personalization.ts) and rounds[] and final also carry "sharedAccuracy" and
 * "sharedPerClient", the global model's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { CLIENT_NAMES, type ClientData, type ClientName } from '@focus-fl/core/data';
import { SiteClient } from '@focus-fl/core/federated';
import { initNodeBackend, type NodeBackend } from '@focus-fl/core/node';
import { buildApp } from './app.js';
import { resolveConfig, siteBudget, type FederationConfig } from './config.js';
import { modelSourceFromConfig } from './model-source.js';
import { loadMedMnistDir } from './medmnist-dir.js';
import { createSimSite, type SimSite, type SimSiteOptions } from './sim-site.js';
import { defaultParallel, runSitesInThreads, type SiteThreads } from './sim-threads.js';
import { PRESETS } from '@focus-fl/core/model';
import type { RoundRow } from './store.js';
import { connectWs } from './ws-transport.js';

/** The simulated sites: which synthetic clients, their data and their compute. */
export interface SimSitesOptions {
  clients: number;
  seed: number;
  budget: number;
  scale?: number;
  floor?: number;
  maxTest?: number;
  /** Samples each site scores LNTK on (default 16; fewer for a large model, e.g. vilt-b32). */
  lntkSamples?: number;
  backend?: NodeBackend;
}

export interface SimulateOptions extends SimSitesOptions {
  config: FederationConfig;
  dataDir?: string;
  /**
   * Threads running the sites (sim-threads.ts): 1 = all on the main thread beside the
   * coordinator; N > 1 = the main thread and N - 1 worker threads with a tfjs backend each,
   * sites dealt round-robin. Default: one per idle core (defaultParallel), at most one per
   * site. The results do not depend on it.
   */
  parallel?: number;
  /** Folder of real MedMNIST .npz files; the sites are the clients found there. */
  medmnistDir?: string;
  /** Progress lines to stderr. */
  verbose?: boolean;
  /** Sites with their own data instead of the first `clients` synthetic clients (experiment
   * settings); `clients` must equal their number. */
  sites?: { name: string; data: ClientData }[];
}

/** One completed round of a simulated federation. */
export interface SimulateRound {
  round: number;
  accuracy: number | null;
  perClient: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  selection: Record<string, string[]>;
  /** Personalised federations only (--personalization): the global model's, beside. */
  sharedAccuracy?: number;
  sharedPerClient?: Record<string, number>;
}

export interface SimulateResult {
  rounds: SimulateRound[];
  final: {
    baseAccuracy: number | null;
    accuracy: number | null;
    perClient: Record<string, number>;
    /** Personalised federations only: the global model's, beside. */
    sharedAccuracy?: number;
    sharedPerClient?: Record<string, number>;
  };
  bytesUp: number;
  bytesDown: number;
}

export interface RemoteOptions extends SimSitesOptions {
  /** http(s)://host:port of a running coordinator. */
  url: string;
  adminToken: string;
  /** Suffix for the registered site names (a coordinator keeps its sites). */
  suffix?: string;
}

/**
 * Connects N Node sites to a running coordinator: registers them through the admin endpoint,
 * loads the served base model, federates, then reads the rounds from GET /api/state.
 */
export async function simulateRemote(o: RemoteOptions): Promise<SimulateResult> {
  await initNodeBackend(o.backend ?? 'wasm');
  const http = o.url.replace(/\/$/, '');
  const wsUrl = http.replace(/^http/, 'ws') + '/ws';
  const res = await fetch(`${http}/model/base.safetensors`);
  if (!res.ok) throw new Error(`GET /model/base.safetensors: ${res.status} ${await res.text()}`);
  const baseBytes = new Uint8Array(await res.arrayBuffer());
  const names = CLIENT_NAMES.slice(0, o.clients) as ClientName[];
  const sites: SimSite[] = [];
  try {
    const runs = await Promise.all(
      names.map(async (name, i) => {
        const siteName = `${name}${o.suffix ?? ''}`;
        const r = await fetch(`${http}/api/sites`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${o.adminToken}` },
          body: JSON.stringify({ name: siteName, budget: o.budget }),
        });
        if (r.status !== 201)
          throw new Error(`registering ${siteName}: ${r.status} ${await r.text()}`);
        const { token } = (await r.json()) as { token: string };
        const site = createSimSite({
          name,
          seed: o.seed * 1009 + i,
          baseBytes,
          scale: o.scale,
          floor: o.floor,
          maxTest: o.maxTest,
          lntkSamples: o.lntkSamples,
        });
        sites.push(site);
        return new SiteClient({ token, backend: 'node', compute: site }).run(() =>
          connectWs(wsUrl),
        );
      }),
    );
    const outcomes = await Promise.all(runs);
    if (outcomes.some((x) => x !== 'done'))
      throw new Error(`some sites failed: ${outcomes.join(', ')}`);
    const state = (await (
      await fetch(`${http}/api/state`, { headers: { authorization: `Bearer ${o.adminToken}` } })
    ).json()) as { rounds: RoundRow[] };
    return summarise(state.rounds);
  } finally {
    for (const s of sites) s.dispose();
  }
}

export function summarise(allRows: RoundRow[]): SimulateResult {
  // Aborted attempts are stored too; the summary is of the rounds that completed.
  const rows = allRows.filter((r) => r.status === 'completed');
  const base = rows.find((r) => r.round === 0);
  const rounds = rows
    .filter((r) => r.round > 0)
    .map((r) => ({
      round: r.round,
      accuracy: r.accuracy,
      perClient: r.perClient,
      bytesUp: r.bytesUp,
      bytesDown: r.bytesDown,
      selection: r.selection,
      ...(r.sharedAccuracy !== undefined && {
        sharedAccuracy: r.sharedAccuracy,
        sharedPerClient: r.sharedPerClient,
      }),
    }));
  const last = rounds[rounds.length - 1];
  return {
    rounds,
    final: {
      baseAccuracy: base?.accuracy ?? null,
      accuracy: last?.accuracy ?? null,
      perClient: last?.perClient ?? {},
      ...(last?.sharedAccuracy !== undefined && {
        sharedAccuracy: last.sharedAccuracy,
        sharedPerClient: last.sharedPerClient,
      }),
    },
    bytesUp: rows.reduce((a, r) => a + r.bytesUp, 0),
    bytesDown: rows.reduce((a, r) => a + r.bytesDown, 0),
  };
}

/** The federation paused (too many aborted rounds in a row); the message says why. */
export class FederationPausedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FederationPausedError';
  }
}

/** Runs a whole federation in this process; resolves when every site is done. */
export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  const maxClients = o.sites ? o.sites.length : CLIENT_NAMES.length;
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > maxClients) {
    throw new Error(`--clients must be 1..${maxClients}, got ${o.clients}`);
  }
  if (o.sites && o.sites.length !== o.clients) {
    throw new Error(`sites: ${o.sites.length} given but clients is ${o.clients}`);
  }
  if (o.parallel !== undefined && (!Number.isInteger(o.parallel) || o.parallel < 1))
    throw new Error(`--parallel must be a positive integer, got ${o.parallel}`);
  await initNodeBackend(o.backend ?? 'wasm');
  const real = o.medmnistDir ? medmnistClients(o.medmnistDir, o) : undefined;
  const names: string[] = real
    ? [...real.keys()]
    : (o.sites?.map((s) => s.name) ?? CLIENT_NAMES.slice(0, o.clients));
  // A folder may hold fewer clients than --clients: the quorum is the sites that exist.
  const config = real
    ? { ...o.config, minClients: Math.min(o.config.minClients, names.length) }
    : o.config;
  const model = modelSourceFromConfig(config);
  const app = await buildApp({
    config,
    dataDir: o.dataDir ?? mkdtempSync(join(tmpdir(), 'focus-fl-sim-')),
    model,
    logger: o.verbose ? { level: 'info', stream: process.stderr } : false,
  });
  const sites: SimSite[] = [];
  const clients: SiteClient[] = [];
  let siteThreads: SiteThreads | undefined;
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws`;
    const specs = names.map((name, i) => {
      const token = app.store.getSite(name)
        ? null
        : app.store.addSite(name, siteBudget(o.config, { name, budget: o.budget }));
      if (!token) throw new Error(`site ${name} already registered in this data dir`);
      const options: Omit<SimSiteOptions, 'baseBytes'> = {
        name,
        seed: o.seed * 1009 + i,
        scale: o.scale,
        floor: o.floor,
        maxTest: o.maxTest,
        lntkSamples: o.lntkSamples,
        data: real?.get(name as ClientName) ?? o.sites?.[i].data,
      };
      return { token, options };
    });
    if (o.verbose) {
      app.engine.on('round', (r: number, acc: number | null) =>
        process.stderr.write(`round ${r}: accuracy ${acc?.toFixed(4)}\n`),
      );
    }
    const threads = Math.min(o.parallel ?? defaultParallel(names.length), specs.length);
    // Site i runs in group i % threads. Group 0 stays on the main thread beside the
    // coordinator (whose tfjs is loaded already), groups 1.. get a worker thread each: N-way
    // parallelism costs N - 1 thread start-ups (tsx, tfjs, tokenizer: ~1-2 CPU-s each).
    const onMain = specs.filter((_, i) => i % threads === 0);
    const inThreads = specs.filter((_, i) => i % threads !== 0);
    if (inThreads.length > 0) {
      siteThreads = runSitesInThreads(
        url,
        o.backend ?? 'wasm',
        model.baseBytes!,
        inThreads,
        threads - 1,
      );
    }
    const mainRuns = Promise.all(
      onMain.map(({ token, options }) => {
        const site = createSimSite({ ...options, baseBytes: model.baseBytes! });
        sites.push(site);
        const client = new SiteClient({ token, backend: 'node', compute: site });
        clients.push(client);
        return client.run(() => connectWs(url));
      }),
    );
    const runs: Promise<string[]> = Promise.all([mainRuns, siteThreads?.outcomes ?? []]).then(
      ([main, threaded]) =>
        specs.map((s) =>
          onMain.includes(s) ? main[onMain.indexOf(s)] : threaded[inThreads.indexOf(s)],
        ),
    );
    // A federation that pauses (too many aborted rounds in a row) never finishes: stop with
    // the engine's reason instead of waiting for sites that wait for it.
    const paused = new Promise<never>((_, reject) =>
      app.engine.once('paused', (reason: string) =>
        reject(new FederationPausedError(`federation ${reason}`)),
      ),
    );
    const outcomes = await Promise.race([runs, paused]);
    if (outcomes.some((x) => x !== 'done'))
      throw new Error(`some sites failed: ${outcomes.join(', ')}`);
    return summarise(app.store.rounds());
  } finally {
    for (const c of clients) c.stop('simulation over');
    await siteThreads?.terminate();
    await app.close();
    for (const s of sites) s.dispose();
  }
}

/**
 * The first `o.clients` clients with files in `dir` (partial clients included), their images
 * resized to the preset's input side; skipped files are reported on stderr.
 */
function medmnistClients(
  dir: string,
  o: Pick<SimulateOptions, 'clients' | 'seed' | 'config'>,
): Map<ClientName, ClientData> {
  const preset = (PRESETS as Record<string, { imageSize: number } | undefined>)[o.config.preset];
  const loaded = loadMedMnistDir(dir, { seed: o.seed, size: preset?.imageSize });
  for (const line of loaded.skipped) process.stderr.write(`skipped ${line}\n`);
  const out = new Map<ClientName, ClientData>();
  for (const [name, d] of [...loaded.clients].slice(0, o.clients)) {
    if (d.missing.length)
      process.stderr.write(
        `${name}: partial site with ${d.subsets.join(', ')} (no ${d.missing.join(', ')})\n`,
      );
    out.set(name, d);
  }
  return out;
}

/**
 * The federation config `pnpm simulate` runs: DEFAULT_CONFIG plus the given overrides, with the
 * model and federation seeded by `seed` and every round waiting for all `clients` (a simulation
 * has no stragglers, so rounds are complete and reproducible). Phase deadlines are an hour:
 * the simulated sites share one thread, and a vilt-b32 phase of several sites takes minutes.
 */
export function simulationConfig(
  clients: number,
  seed: number,
  overrides: Partial<FederationConfig> = {},
): FederationConfig {
  const hour = 3_600_000;
  const deadlines = { scores: hour, train: hour, evaluate: hour };
  return resolveConfig({ seed, modelSeed: seed, deadlines }, overrides, {
    minClients: clients,
    minCompletionRate: 1,
    quorumGraceMs: 0,
  });
}

function table(res: SimulateResult, names: string[]): string {
  const pct = (x: number | null | undefined) =>
    x == null ? '   -  ' : (100 * x).toFixed(2).padStart(6);
  const short = names.map((n) => n.slice(0, 8).padStart(8));
  const lines = [`round  global ${short.join(' ')}   up(KB)  down(KB)`];
  for (const r of res.rounds) {
    lines.push(
      `${String(r.round).padStart(5)}  ${pct(r.accuracy)} ${names.map((n) => pct(r.perClient[n]).padStart(8)).join(' ')} ${(r.bytesUp / 1024).toFixed(0).padStart(8)} ${(r.bytesDown / 1024).toFixed(0).padStart(9)}`,
    );
    // Personalised: the rows above are the sites' own models; the global model's beside.
    if (r.sharedAccuracy !== undefined)
      lines.push(
        ` (shared ${pct(r.sharedAccuracy)} ${names.map((n) => pct(r.sharedPerClient?.[n]).padStart(8)).join(' ')})`,
      );
  }
  lines.push(`base accuracy ${pct(res.final.baseAccuracy)}  final ${pct(res.final.accuracy)}`);
  lines.push(`bytes up ${res.bytesUp}  down ${res.bytesDown}`);
  return lines.join('\n');
}

/** --server-optimizer NAME [--server-lr X --server-beta1 X --server-beta2 X --server-tau X]. */
export function serverOptimizerFlags(
  values: Record<string, unknown>,
  num: (k: string, v: string | undefined) => number | undefined,
): FederationConfig['serverOptimizer'] | undefined {
  const name = values['server-optimizer'] as
    FederationConfig['serverOptimizer']['name'] | undefined;
  const fields = {
    lr: num('server-lr', values['server-lr'] as string | undefined),
    beta1: num('server-beta1', values['server-beta1'] as string | undefined),
    beta2: num('server-beta2', values['server-beta2'] as string | undefined),
    tau: num('server-tau', values['server-tau'] as string | undefined),
  };
  const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  if (name === undefined && Object.keys(given).length === 0) return undefined;
  return { ...(name ? { name } : {}), ...given } as FederationConfig['serverOptimizer'];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '9' },
      rounds: { type: 'string', default: '5' },
      strategy: { type: 'string', default: 'f3ocus' },
      algo: { type: 'string', default: 'nsga2' },
      seed: { type: 'string', default: '0' },
      steps: { type: 'string' },
      lr: { type: 'string' },
      'batch-size': { type: 'string' },
      codec: { type: 'string' },
      budget: { type: 'string', default: '2' },
      scale: { type: 'string' },
      floor: { type: 'string' },
      'max-test': { type: 'string' },
      'lntk-samples': { type: 'string' },
      'solver-ms': { type: 'string' },
      preset: { type: 'string' },
      // The federated recipe (docs/federated-recipe.md); defaults from DEFAULT_CONFIG.
      'local-optimizer': { type: 'string' },
      momentum: { type: 'string' },
      'prox-mu': { type: 'string' },
      'answer-mask': { type: 'string' },
      'server-optimizer': { type: 'string' },
      'server-lr': { type: 'string' },
      'server-beta1': { type: 'string' },
      'server-beta2': { type: 'string' },
      'server-tau': { type: 'string' },
      'head-aggregation': { type: 'string' },
      personalization: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      parallel: { type: 'string' },
      'data-dir': { type: 'string' },
      'medmnist-dir': { type: 'string' },
      url: { type: 'string' },
      'admin-token': { type: 'string' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const num = (k: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x)) throw new Error(`--${k} must be a number, got "${v}"`);
    return x;
  };
  const clients = num('clients', values.clients)!;
  const seed = num('seed', values.seed)!;
  const config = simulationConfig(clients, seed, {
    strategy: values.strategy as FederationConfig['strategy'],
    algo: values.algo as FederationConfig['algo'],
    rounds: num('rounds', values.rounds),
    steps: num('steps', values.steps),
    lr: num('lr', values.lr),
    batchSize: num('batch-size', values['batch-size']),
    codec: values.codec as FederationConfig['codec'] | undefined,
    solverMaxMs: num('solver-ms', values['solver-ms']),
    preset: values.preset,
    localOptimizer: values['local-optimizer'] as FederationConfig['localOptimizer'] | undefined,
    momentum: num('momentum', values.momentum),
    proxMu: num('prox-mu', values['prox-mu']),
    answerMask: values['answer-mask'] as FederationConfig['answerMask'] | undefined,
    serverOptimizer: serverOptimizerFlags(values, num),
    headAggregation: values['head-aggregation'] as FederationConfig['headAggregation'] | undefined,
    personalization: values.personalization as FederationConfig['personalization'] | undefined,
  });
  const common = {
    clients,
    seed,
    budget: num('budget', values.budget)!,
    scale: num('scale', values.scale),
    floor: num('floor', values.floor),
    maxTest: num('max-test', values['max-test']),
    lntkSamples: num('lntk-samples', values['lntk-samples']),
    backend: values.backend as NodeBackend,
  };
  let res: SimulateResult;
  if (values.url) {
    const adminToken = values['admin-token'] ?? process.env.FOCUS_FL_ADMIN_TOKEN;
    if (!adminToken) throw new Error('--url needs --admin-token (or FOCUS_FL_ADMIN_TOKEN)');
    res = await simulateRemote({ ...common, url: values.url, adminToken, suffix: `-s${seed}` });
  } else {
    res = await simulate({
      ...common,
      config,
      dataDir: values['data-dir'],
      parallel: num('parallel', values.parallel),
      medmnistDir: values['medmnist-dir'],
      verbose: values.verbose,
    });
  }
  if (values.json) process.stdout.write(JSON.stringify(res) + '\n');
  else {
    const names = values['medmnist-dir']
      ? Object.keys(res.final.perClient)
      : (CLIENT_NAMES.slice(0, clients) as string[]);
    console.log(table(res, names));
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
