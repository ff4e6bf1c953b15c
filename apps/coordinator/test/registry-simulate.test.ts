/**
 * Every strategy in the registry completes a round end to end: the in-process equivalent of
 * `pnpm simulate --clients 2 --rounds 1 --strategy S` (the CLI's own simulationConfig, real
 * tiny model, real ws protocol), with less data and fewer local steps so that the whole
 * registry runs in well under a minute.
 */
import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from '@focus-fl/core/federated';
import { FederationPausedError, simulate, simulationConfig } from '../src/simulate.js';

// One thread: the sites' thread pool has its own test (simulate --parallel); here it only adds
// start-up time per strategy.
const SMALL = { floor: 24, scale: 0, maxTest: 12, parallel: 1 } as const;

describe('every registry strategy completes `simulate --clients 2 --rounds 1`', () => {
  for (const strategy of STRATEGY_NAMES) {
    it(
      strategy,
      async () => {
        const res = await simulate({
          clients: 2,
          seed: 1,
          budget: 2,
          ...SMALL,
          config: simulationConfig(2, 1, {
            strategy,
            rounds: 1,
            steps: 2,
            batchSize: 8,
            solverMaxMs: 300,
            maxConsecutiveAborts: 1,
          }),
        });
        expect(res.rounds.map((r) => r.round)).toEqual([1]);
        expect(res.final.accuracy).not.toBeNull();
        const selection = res.rounds[0].selection;
        expect(Object.keys(selection).sort()).toEqual(['chest_xray', 'oct']);
        for (const layers of Object.values(selection)) {
          if (strategy === 'full') expect(layers.length).toBeGreaterThan(2);
          else expect(layers.length).toBeLessThanOrEqual(2);
        }
      },
      120_000,
    );
  }
});

describe('a federation whose rounds all abort', () => {
  it('pauses after the cap and simulate stops with the reason', async () => {
    const started = Date.now();
    const run = simulate({
      clients: 2,
      seed: 1,
      budget: 2,
      ...SMALL,
      config: simulationConfig(2, 1, {
        strategy: 'lntk',
        rounds: 1,
        // No site can score in 1 ms: every attempt of round 1 aborts. The sites run on the
        // main thread (parallel 1), so a site's scores reach the coordinator only after its
        // timers ran. A site still finishes the aborted attempt's scores and sends them; they
        // are the same round's (and would be the same numbers), so an attempt that started
        // before they arrived would rightly count them. The back-off is therefore far longer
        // than a site's scoring (tens of ms): they arrive between attempts and are refused.
        deadlines: { scores: 1, train: 1000, evaluate: 60_000 },
        abortBackoffMs: 500,
        maxConsecutiveAborts: 3,
      }),
    });
    await expect(run).rejects.toThrow(FederationPausedError);
    await expect(run).rejects.toThrow(
      /^federation paused after 3 aborted attempts of round 1 in a row; last: only 0 of 2 sites sent scores \(need 2\)$/,
    );
    // Back-off 500 + 1000 ms between the three attempts: not a tight loop, not a long wait.
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);
});
