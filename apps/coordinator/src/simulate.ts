/**
 * `pnpm simulate --clients 9 --rounds R --strategy f3ocus --algo nsga2 --seed S [--json]`
 *
 * Starts a coordinator in-process (or connects to one with --url and --tokens) and runs N Node
 * sites on the synthetic clients (CLIENT_NAMES order) through the real ws protocol. Prints a
 * per-round table, or with --json one object (stable interface):
 *   {"rounds":[{"round","accuracy","perClient","bytesUp","bytesDown","selection"}],
 *    "final":{"baseAccuracy","accuracy","perClient"},"bytesUp","bytesDown"}
 * accuracy = global held-out accuracy after the round (sample-weighted mean of the sites'
 * test-split accuracies); baseAccuracy = before round 1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { CLIENT_NAMES, type ClientName } from '@focus-fl/core/data';
import { SiteClient } from '@focus-fl/core/federated';
import { initNodeBackend, type NodeBackend } from '@focus-fl/core/node';
import { buildApp } from './app.js';
import { resolveConfig, type FederationConfig } from './config.js';
import { modelSourceFromConfig } from './model-source.js';
import { createSimSite, type SimSite } from './sim-site.js';
import type { RoundRow } from './store.js';
import { connectWs } from './ws-transport.js';

export interface SimulateOptions {
  clients: number;
  config: FederationConfig;
  seed: number;
  budget: number;
  scale?: number;
  floor?: number;
  maxTest?: number;
  dataDir?: string;
  backend?: NodeBackend;
  /** Progress lines to stderr. */
  verbose?: boolean;
}

export interface SimulateResult {
  rounds: {
    round: number;
    accuracy: number | null;
    perClient: Record<string, number>;
    bytesUp: number;
    bytesDown: number;
    selection: Record<string, string[]>;
  }[];
  final: {
    baseAccuracy: number | null;
    accuracy: number | null;
    perClient: Record<string, number>;
  };
  bytesUp: number;
  bytesDown: number;
}

export function summarise(rows: RoundRow[]): SimulateResult {
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
    }));
  const last = rounds[rounds.length - 1];
  return {
    rounds,
    final: {
      baseAccuracy: base?.accuracy ?? null,
      accuracy: last?.accuracy ?? null,
      perClient: last?.perClient ?? {},
    },
    bytesUp: rows.reduce((a, r) => a + r.bytesUp, 0),
    bytesDown: rows.reduce((a, r) => a + r.bytesDown, 0),
  };
}

/** Runs a whole federation in this process; resolves when every site is done. */
export async function simulate(o: SimulateOptions): Promise<SimulateResult> {
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > CLIENT_NAMES.length) {
    throw new Error(`--clients must be 1..${CLIENT_NAMES.length}, got ${o.clients}`);
  }
  await initNodeBackend(o.backend ?? 'wasm');
  const model = modelSourceFromConfig(o.config);
  const app = await buildApp({
    config: o.config,
    dataDir: o.dataDir ?? mkdtempSync(join(tmpdir(), 'focus-fl-sim-')),
    model,
    logger: o.verbose ? { level: 'info', stream: process.stderr } : false,
  });
  const names = CLIENT_NAMES.slice(0, o.clients) as ClientName[];
  const sites: SimSite[] = [];
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws`;
    const runs = names.map((name, i) => {
      const token = app.store.getSite(name)
        ? null
        : app.store.addSite(name, o.config.budgets[name] ?? o.budget);
      if (!token) throw new Error(`site ${name} already registered in this data dir`);
      const site = createSimSite({
        name,
        seed: o.seed * 1009 + i,
        baseBytes: model.baseBytes!,
        scale: o.scale,
        floor: o.floor,
        maxTest: o.maxTest,
      });
      sites.push(site);
      const client = new SiteClient({ token, backend: 'node', compute: site });
      return client.run(() => connectWs(url));
    });
    if (o.verbose) {
      app.engine.on('round', (r: number, acc: number | null) =>
        process.stderr.write(`round ${r}: accuracy ${acc?.toFixed(4)}\n`),
      );
    }
    const outcomes = await Promise.all(runs);
    if (outcomes.some((x) => x !== 'done'))
      throw new Error(`some sites failed: ${outcomes.join(', ')}`);
    return summarise(app.store.rounds());
  } finally {
    await app.close();
    for (const s of sites) s.dispose();
  }
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
  }
  lines.push(`base accuracy ${pct(res.final.baseAccuracy)}  final ${pct(res.final.accuracy)}`);
  lines.push(`bytes up ${res.bytesUp}  down ${res.bytesDown}`);
  return lines.join('\n');
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
      'solver-ms': { type: 'string' },
      preset: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      'data-dir': { type: 'string' },
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
  const config = resolveConfig({
    strategy: values.strategy as FederationConfig['strategy'],
    algo: values.algo as FederationConfig['algo'],
    rounds: num('rounds', values.rounds),
    seed,
    modelSeed: seed,
    steps: num('steps', values.steps),
    lr: num('lr', values.lr),
    batchSize: num('batch-size', values['batch-size']),
    codec: values.codec as FederationConfig['codec'] | undefined,
    solverMaxMs: num('solver-ms', values['solver-ms']),
    preset: values.preset,
    minClients: clients,
    minCompletionRate: 1,
    quorumGraceMs: 0,
  });
  const res = await simulate({
    clients,
    config,
    seed,
    budget: num('budget', values.budget)!,
    scale: num('scale', values.scale),
    floor: num('floor', values.floor),
    maxTest: num('max-test', values['max-test']),
    dataDir: values['data-dir'],
    backend: values.backend as NodeBackend,
    verbose: values.verbose,
  });
  if (values.json) process.stdout.write(JSON.stringify(res) + '\n');
  else console.log(table(res, CLIENT_NAMES.slice(0, clients) as string[]));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
