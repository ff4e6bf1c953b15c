/**
 * One run of the grid = one simulated federation through the real protocol: the coordinator's
 * `simulate` (Fastify + ws in-process, Node sites running the core model), with the spec's
 * parameters. Returns the results.jsonl line (results.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate, simulationConfig } from '@focus-fl/coordinator/simulate.js';
import { Store } from '@focus-fl/coordinator/store.js';
import type { FederationConfig } from '@focus-fl/coordinator/config.js';
import { peftCheckpoint } from './peft.js';
import type { ResultLine } from './results.js';
import { buildSettingSites, siteCount } from './settings.js';
import type { RunTask } from './spec.js';

export async function executeRun(task: RunTask): Promise<ResultLine> {
  const started = performance.now();
  const p = task.params;
  const sites = buildSettingSites(task.settingDef, task.seed);
  const clients = siteCount(sites);
  const dataDir = mkdtempSync(join(tmpdir(), 'focus-fl-exp-'));
  try {
    const overrides: Partial<FederationConfig> = {
      strategy: task.registryStrategy as FederationConfig['strategy'],
      algo: (task.algo ?? 'nsga2') as FederationConfig['algo'],
      rounds: p.rounds,
      steps: p.steps,
      batchSize: p.batchSize,
      lr: p.lr,
      codec: p.codec,
      preset: p.preset,
      solverMaxMs: p.solverMaxMs,
      defaultBudget: p.budget,
      budgets: p.budgets,
    };
    if (task.peft !== 'adapter') {
      overrides.checkpoint = peftCheckpoint(
        join(tmpdir(), 'focus-fl-exp-peft'),
        p.preset,
        task.seed,
        task.peft,
      );
    }
    const res = await simulate({
      clients,
      config: simulationConfig(clients, task.seed, overrides),
      seed: task.seed,
      budget: p.budget,
      scale: p.scale,
      floor: p.floor,
      maxTest: p.maxTest,
      dataDir,
      sites: sites.sites,
      parallel: p.parallel,
    });
    const trainMs = trainMsByRound(dataDir);
    return {
      setting: task.setting,
      strategy: task.strategy,
      algo: task.algo,
      seed: task.seed,
      rounds: res.rounds.map((r) => ({ ...r, trainMs: trainMs.get(r.round) ?? null })),
      final: { accuracy: res.final.accuracy, perClient: res.final.perClient },
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Mean local training time of the round's sites (each site's update reports `ms`, the wall time
 * of its `train` call; docs/interfaces.md), read from the run's coordinator store.
 */
function trainMsByRound(dataDir: string): Map<number, number> {
  const store = new Store(dataDir);
  try {
    const out = new Map<number, number>();
    for (const row of store.rounds()) {
      const ms = Object.values(store.clientMetrics(row.round, 'train'))
        .map((m) => m.ms)
        .filter((x): x is number => typeof x === 'number');
      if (ms.length > 0) out.set(row.round, Math.round(ms.reduce((a, b) => a + b, 0) / ms.length));
    }
    return out;
  } finally {
    store.close();
  }
}
