// Federated strategies side by side: the in-process simulator (apps/coordinator simulate(),
// the real coordinator and ws protocol, 4 Node sites on the synthetic clients) for f3ocus,
// lntk, full and random at DEFAULT_CONFIG's local-training settings, 5 rounds, seed 0.
// Reports global held-out accuracy (sample-weighted mean of the sites' test splits) before
// round 1 and after every round, and the bytes each strategy moved.
import { simulate, simulationConfig } from '../apps/coordinator/src/simulate.js';
import type { BenchResult } from './types.js';

const STRATEGIES = ['f3ocus', 'lntk', 'full', 'random'] as const;
const CLIENTS = 4;
const ROUNDS = 5;
const SEED = 0;
const BUDGET = 2;

const pct = (x: number | null | undefined) => (x == null ? null : +(100 * x).toFixed(2));

export async function run(): Promise<BenchResult> {
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
  ];
  return { name: 'strategies', rows, notes };
}
