// `pnpm simulate --parallel N`: sites in worker threads give the same federation as all sites
// on the main thread (each site has its own model, data and seeds; the coordinator aggregates
// in site-name order). Strategy `f3ocus`: the server's solver is bounded by evaluations with a
// seeded early stop (apps/coordinator/src/planner.ts), so its selection does not depend on
// the machine's speed either.
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@focus-fl/core/node';
import { simulate, simulationConfig, type SimulateResult } from '../src/simulate.js';
import { defaultParallel } from '../src/sim-threads.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

function run(parallel: number): Promise<SimulateResult> {
  return simulate({
    clients: 3,
    seed: 4,
    budget: 2,
    floor: 40,
    scale: 0,
    maxTest: 16,
    parallel,
    config: simulationConfig(3, 4, { strategy: 'f3ocus', rounds: 2, steps: 3, batchSize: 8 }),
  });
}

/** Bytes up carry each site's measured compute time (msgpack ints of varying width). */
function withoutUpBytes(r: SimulateResult) {
  return {
    ...r,
    bytesUp: 0,
    rounds: r.rounds.map((x) => ({ ...x, bytesUp: 0 })),
  };
}

describe('simulate --parallel', () => {
  it('3 sites in 2 threads (2 + 1) give the sequential results', async () => {
    const seq = await run(1);
    const par = await run(2);
    expect(seq.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(seq.final.accuracy).not.toBeNull();
    expect(withoutUpBytes(par)).toEqual(withoutUpBytes(seq));
    // Per round and site, only the msgpack width of two millisecond counts may differ.
    par.rounds.forEach((r, i) =>
      expect(Math.abs(r.bytesUp - seq.rounds[i].bytesUp)).toBeLessThanOrEqual(3 * 2 * 4),
    );
  }, 300_000);

  it('defaults to one thread per idle core, at least 1, at most one per site', () => {
    const cores = availableParallelism();
    expect(defaultParallel(1000, 0)).toBe(cores);
    expect(defaultParallel(1, 0)).toBe(1);
    expect(defaultParallel(1000, cores + 10)).toBe(1);
    expect(defaultParallel(1000, cores - 1)).toBe(1);
  });

  it('rejects a bad thread count', async () => {
    await expect(run(0)).rejects.toThrow(/--parallel must be a positive integer/);
  });
});
