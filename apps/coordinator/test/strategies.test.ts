import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  INLINE_MAX_CELLS,
  lastSolverMode,
  runSolver,
  solveInThread,
  solverWorkerStarts,
} from '../src/solver-run.js';
import { createPlanner } from '../src/planner.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { randomSelectionInput } from '@focus-fl/solvers';
import { mulberry32 } from '@focus-fl/core';
import { LAYERS, fakeSite, runSite, startCoordinator, testConfig, tmpDir } from './fakes.js';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('strategies through the engine', () => {
  for (const strategy of ['f3ocus', 'lntk', 'full', 'random', 'last', 'magnitude'] as const) {
    it(`${strategy}: one round with 3 sites, budgets respected`, async () => {
      const c = await startCoordinator({
        dataDir: tmpDir(),
        config: testConfig({ strategy, rounds: 1, minClients: 3 }),
      });
      app = c.app;
      const sites = [fakeSite(1), fakeSite(2), fakeSite(3)];
      const budgets = [1, 2, 3];
      const tokens = sites.map((_, i) => c.app.store.addSite(`s${i}`, budgets[i]));
      const runs = sites.map((s, i) => runSite(c.url, tokens[i], s));
      expect(await Promise.all(runs.map((r) => r.done))).toEqual(['done', 'done', 'done']);
      const sel = c.app.store.selections(1);
      sites.forEach((s, i) => {
        expect(sel[`s${i}`]).toEqual(s.trained[0].layers);
        if (strategy === 'full') expect(sel[`s${i}`]).toEqual(LAYERS);
        else expect(sel[`s${i}`].length).toBe(budgets[i]);
      });
      if (strategy === 'last') expect(sel.s0).toEqual(['block3.adapter']);
      const rounds = c.app.store.rounds();
      if (strategy === 'f3ocus') expect(rounds[1].front.length).toBeGreaterThan(0);
      expect(rounds[1].accuracy).toBeGreaterThan(rounds[0].accuracy!);
    });
  }
});

describe('solver off the event loop', () => {
  const opts = { algo: 'nsga2' as const, seed: 5, maxEvaluations: 2000, pick: 'knee' as const };

  it('solves a large problem in one worker thread reused across rounds, matching in-thread', async () => {
    const input = randomSelectionInput(20, 12, 3, { minBudget: 1, maxBudget: 4 });
    expect(input.scores.length * 12).toBeGreaterThan(INLINE_MAX_CELLS);
    const starts = solverWorkerStarts();
    let ticks = 0;
    const iv = setInterval(() => ticks++, 1);
    const a = await runSolver(input, opts);
    expect(lastSolverMode()).toBe('worker');
    const a2 = await runSolver(input, { ...opts, seed: 6 });
    expect(lastSolverMode()).toBe('worker');
    clearInterval(iv);
    expect(solverWorkerStarts() - starts).toBeLessThanOrEqual(1);
    const b = solveInThread(input, opts);
    expect(a.front).toEqual(b.front);
    expect(a.selected).toBe(b.selected);
    expect(a2.front).toEqual(solveInThread(input, { ...opts, seed: 6 }).front);
    expect(ticks).toBeGreaterThan(0);
  });

  it('solves a small problem on the calling thread', async () => {
    const input = {
      scores: [
        [0.4, 0.3, 0.2, 0.1],
        [0.1, 0.2, 0.3, 0.4],
        [0.25, 0.25, 0.25, 0.25],
      ],
      budgets: [2, 2, 1],
    };
    const starts = solverWorkerStarts();
    const a = await runSolver(input, opts);
    expect(lastSolverMode()).toBe('in-thread');
    expect(solverWorkerStarts()).toBe(starts);
    expect(a.front).toEqual(solveInThread(input, opts).front);
  });

  it("the planner's f3ocus selection is the same for a seed, wherever it is solved", async () => {
    const layers = Array.from({ length: 12 }, (_, l) => `block${l}.adapter`);
    for (const clients of [4, 20]) {
      const input = randomSelectionInput(clients, 12, 8, { minBudget: 1, maxBudget: 4 });
      const plan = () =>
        createPlanner({ ...DEFAULT_CONFIG, strategy: 'f3ocus', seed: 3 }).plan({
          round: 2,
          layers,
          sites: input.scores.map((row, i) => ({
            site: `s${i}`,
            budget: input.budgets[i],
            numSamples: 10,
            scores: { layers, scores: row },
          })),
        });
      const a = await plan();
      const b = await plan();
      expect(b.assignments).toEqual(a.assignments);
      expect(b.front).toEqual(a.front);
      expect(a.info.stoppedBy).toBe('stall');
    }
  });

  it('falls back to the client-only top-B selection when the solver misses its hard deadline', async () => {
    const rand = mulberry32(4);
    const scores = Array.from({ length: 1500 }, () => {
      const x = Array.from({ length: 6 }, () => rand() + 0.01);
      const t = x.reduce((a, b) => a + b, 0);
      return x.map((v) => v / t);
    });
    const started = Date.now();
    const res = await runSolver(
      { scores, budgets: scores.map(() => 2) },
      { algo: 'nsga2', seed: 1, maxTimeMs: 1, pick: 'knee' },
      // The solver now honours maxTimeMs; a 1 ms hard deadline is shorter than the worker's
      // start-up alone, so the fallback must take over.
      { hardDeadlineMs: 1 },
    );
    expect(lastSolverMode()).toBe('fallback');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.evaluations).toBe(0);
    const masks = res.front[res.selected].masks;
    scores.forEach((row, i) => {
      const top = [...row.keys()]
        .sort((a, b) => row[b] - row[a])
        .slice(0, 2)
        .sort();
      expect(masks[i].flatMap((m, l) => (m ? [l] : []))).toEqual(top);
    });
  });
});
