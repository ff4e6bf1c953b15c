// Federated strategies side by side: the in-process simulator (apps/coordinator simulate(),
// the real coordinator and ws protocol, 4 Node sites on the synthetic clients) for f3ocus,
// lntk, full and random at DEFAULT_CONFIG's local-training settings, 5 rounds, seed 0.
// Reports global held-out accuracy (sample-weighted mean of the sites' test splits) before
// round 1 and after every round, and the bytes each strategy moved.
import { simulate, simulationConfig } from '../apps/coordinator/src/simulate.js';
import { execSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';

const STRATEGIES = ['f3ocus', 'lntk', 'full', 'random'] as const;
const CLIENTS = 4;
const ROUNDS = 5;
const SEED = 0;
const BUDGET = 2;

const pct = (x: number | null | undefined) => (x == null ? null : +(100 * x).toFixed(2));

/** The last commit that changed the committed tiny base (the federation's starting point). */
function assetCommit(): string {
  try {
    return execSync('git log -1 --format=%h -- packages/core/assets/tiny-base.safetensors', {
      cwd: join(dirname(fileURLToPath(import.meta.url)), '..'),
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg().map((x) => +x.toFixed(1));
  const rows: Record<string, unknown>[] = [];
  for (const strategy of STRATEGIES) {
    const config = simulationConfig(CLIENTS, SEED, { strategy, rounds: ROUNDS });
    const started = performance.now();
    const res = await simulate({ clients: CLIENTS, seed: SEED, budget: BUDGET, config });
    rows.push({
      strategy,
      steps: config.steps,
      batchSize: config.batchSize,
      lr: config.lr,
      'base acc %': pct(res.final.baseAccuracy),
      'acc % by round': res.rounds.map((r) => pct(r.accuracy)).join(' / '),
      'final acc %': pct(res.final.accuracy),
      'KB up': +(res.bytesUp / 1024).toFixed(1),
      'KB down': +(res.bytesDown / 1024).toFixed(1),
      seconds: +((performance.now() - started) / 1000).toFixed(1),
    });
  }
  const byName = Object.fromEntries(rows.map((r) => [r.strategy as string, r]));
  const up = (s: string) => byName[s]['KB up'] as number;
  const notes = [
    `${CLIENTS} clients, ${ROUNDS} rounds, seed ${SEED}, budget ${BUDGET} layers/site; one run per strategy (no variance estimate).`,
    `upload per strategy relative to full: ${STRATEGIES.map((s) => `${s} ${((100 * up(s)) / up('full')).toFixed(0)}%`).join(', ')}.`,
    'seconds include contention on the shared 2-core machine.',
    `tiny base: packages/core/assets/tiny-base.safetensors at commit ${assetCommit()}; load average (1, 5, 15 min) ${loadBefore.join(' ')} at the start, ${loadavg()
      .map((x) => +x.toFixed(1))
      .join(' ')} at the end.`,
    'command: nice -n 10 pnpm bench strategies',
  ];
  return { name: 'strategies', rows, notes };
}
