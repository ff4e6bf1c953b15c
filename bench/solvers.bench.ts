// Layer-selection solvers (docs/method.md §2): hypervolume of each algorithm at a 300 ms budget relative to
// the best front any of them finds in long runs, on 9 x 24 and 5 x 12 instances with mixed
// budgets; plus ZDT1-3 hypervolumes of all five algorithms at 20,000 evaluations.
import { loadavg, cpus } from 'node:os';
import {
  ALGORITHMS,
  bounds,
  hypervolume2d,
  LayerSelectionProblem,
  nonDominatedIndices,
  normalizedHypervolume,
  randomSelectionInput,
  solve,
  zdt,
  type AlgorithmName,
} from '../packages/solvers/src/index.js';
import type { BenchResult } from './types.js';

const BUDGET_MS = 300;
const LONG_EVALS = Number(process.env.SOLVERS_LONG_EVALS ?? 100_000);
const FIXED_EVALS = 5000;
const ZDT_SEEDS = [1, 2, 3];
const SEEDS = [1, 2, 3, 4, 5];
const TARGET = 0.99;

const INSTANCES = [
  { name: '9x24-a', C: 9, L: 24, seed: 11, minBudget: 2, maxBudget: 8 },
  { name: '9x24-b', C: 9, L: 24, seed: 21, minBudget: 1, maxBudget: 10 },
  { name: '5x12-a', C: 5, L: 12, seed: 12, minBudget: 1, maxBudget: 6 },
  { name: '5x12-b', C: 5, L: 12, seed: 22, minBudget: 2, maxBudget: 5 },
];

const ZDT_HV: Record<string, number> = { zdt1: 0.871, zdt2: 0.538, zdt3: 1.329 };

export async function run(): Promise<BenchResult> {
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [];
  const misses: string[] = [];
  const ablationMisses: string[] = [];
  const fixedMisses: string[] = [];
  const load0 = loadavg()[0];

  // JIT warm-up: one short run per algorithm on an unrelated instance, so the first timed
  // 300 ms run is not spent compiling.
  const warm = new LayerSelectionProblem(
    randomSelectionInput(9, 24, 999, { minBudget: 2, maxBudget: 8 }),
  );
  for (const algo of ALGORITHMS) solve(warm, { algo, seed: 1, maxTimeMs: BUDGET_MS });

  for (const inst of INSTANCES) {
    const input = randomSelectionInput(inst.C, inst.L, inst.seed, {
      minBudget: inst.minBudget,
      maxBudget: inst.maxBudget,
    });
    const p = new LayerSelectionProblem(input);
    // Reference: union of long runs of every algorithm (two seeds each), non-dominated part.
    const all: number[][] = [];
    const longHv: Record<string, number[][]> = {};
    for (const algo of ALGORITHMS) {
      longHv[algo] = [];
      for (const seed of [101, 102]) {
        const f = solve(p, { algo, seed, maxEvaluations: LONG_EVALS }).front.map((s) => s.f);
        longHv[algo].push(...f);
        all.push(...f);
      }
    }
    const ref = nonDominatedIndices(all).map((i) => all[i]);
    const { ideal, nadir } = bounds(ref);
    const hvRef = normalizedHypervolume(ref, ideal, nadir);
    const contributors = ALGORITHMS.filter((a) =>
      ref.some((r) => longHv[a].some((f) => f[0] === r[0] && f[1] === r[1])),
    );
    notes.push(
      `${inst.name}: budgets [${input.budgets.join(', ')}], reference front ${ref.length} points ` +
        `(found by ${contributors.join(', ')}), normalised HV ${hvRef.toFixed(4)}`,
    );
    const ratioOf = (front: { f: number[] }[]): number =>
      normalizedHypervolume(
        front.map((s) => s.f),
        ideal,
        nadir,
      ) / hvRef;
    for (const algo of ALGORITHMS) {
      // (a) The target: a 300 ms wall-clock budget (depends on how busy the CPU is).
      const timed = SEEDS.map((seed) => solve(p, { algo, seed, maxTimeMs: BUDGET_MS }));
      const ratios = timed.map((r) => ratioOf(r.front));
      const mean = avg(ratios);
      const min = Math.min(...ratios);
      // (b) Load-independent: a fixed evaluation budget, with and without the polish.
      const fixed = SEEDS.map((seed) =>
        ratioOf(solve(p, { algo, seed, maxEvaluations: FIXED_EVALS }).front),
      );
      const bare = SEEDS.map((seed) =>
        ratioOf(solve(p, { algo, seed, maxEvaluations: FIXED_EVALS, polish: false }).front),
      );
      rows.push({
        problem: inst.name,
        algorithm: algo,
        hvRatioMean: round(mean),
        hvRatioMin: round(min),
        evaluations: Math.round(avg(timed.map((r) => r.evaluations))),
        evaluationsMin: Math.min(...timed.map((r) => r.evaluations)),
        elapsedMs: Math.round(avg(timed.map((r) => r.elapsedMs))),
        target: mean >= TARGET ? 'met' : 'MISSED',
        [`hvAt${FIXED_EVALS}Evals`]: round(avg(fixed)),
        [`hvAt${FIXED_EVALS}NoPolish`]: round(avg(bare)),
        hvRatioLong: round(ratioOf(longHv[algo].map((f) => ({ f })))),
      });
      if (mean < TARGET || min < TARGET) {
        const worst = timed[ratios.indexOf(min)];
        misses.push(
          `${inst.name}/${algo}: mean ${mean.toFixed(4)}, min ${min.toFixed(4)} (worst run: ${worst.evaluations} evaluations in ${Math.round(worst.elapsedMs)} ms)`,
        );
      }
      if (avg(fixed) < TARGET) fixedMisses.push(`${inst.name}/${algo} ${avg(fixed).toFixed(4)}`);
      if (avg(bare) < TARGET) ablationMisses.push(`${inst.name}/${algo} ${avg(bare).toFixed(4)}`);
    }
  }

  // Coordinator-sized instances: does every algorithm stop on time (the first step used to be
  // uninterruptible: 2.5-3.4 s for 1,000 x 6 and 37-79 s for 1,000 x 24 at a 300 ms budget)?
  const overruns: string[] = [];
  for (const L of [6, 24]) {
    const big = new LayerSelectionProblem(
      randomSelectionInput(1000, L, 7, { minBudget: 1, maxBudget: L / 2 }),
    );
    for (const budget of [300, 2000]) {
      for (const algo of ALGORITHMS) {
        const t0 = performance.now();
        const r = solve(big, { algo, seed: 1, maxTimeMs: budget });
        const wall = performance.now() - t0;
        rows.push({
          problem: `1000x${L}`,
          algorithm: algo,
          budgetMs: budget,
          wallMs: Math.round(wall),
          evaluations: r.evaluations,
          iterations: r.iterations,
          frontSize: r.front.length,
          feasible: r.front.every((s) => big.isFeasible(s.x)),
        });
        if (wall > budget + Math.max(0.2 * budget, 200))
          overruns.push(`1000x${L}/${algo}@${budget}ms: ${Math.round(wall)} ms`);
      }
    }
  }
  notes.push(
    'Time budgets on 1,000 clients x 6 / 24 layers (budgets 1..L/2), 300 and 2,000 ms: wall time above ' +
      `the budget + max(20%, 200 ms) on: ${overruns.length > 0 ? overruns.join(', ') : 'none'}.`,
  );

  const zdtWeak: string[] = [];
  for (const name of ['zdt1', 'zdt2', 'zdt3'] as const) {
    for (const algo of ALGORITHMS) {
      const t0 = performance.now();
      const hvs = ZDT_SEEDS.map((seed) =>
        hypervolume2d(
          solve(zdt(name), { algo: algo as AlgorithmName, seed, maxEvaluations: 20_000 }).front.map(
            (s) => s.f,
          ),
          [1.1, 1.1],
        ),
      );
      const min = Math.min(...hvs);
      rows.push({
        problem: name,
        algorithm: algo,
        hv: round(avg(hvs)),
        hvMin: round(min),
        hvVsTrueFront: round(avg(hvs) / ZDT_HV[name]),
        evaluations: 20_000,
        elapsedMs: Math.round((performance.now() - t0) / ZDT_SEEDS.length),
      });
      if (min < 0.99 * ZDT_HV[name])
        zdtWeak.push(`${name}/${algo} (mean ${avg(hvs).toFixed(3)}, min ${min.toFixed(3)})`);
    }
  }
  notes.push(
    `ZDT (20,000 evaluations, seeds ${ZDT_SEEDS.join(', ')}): more than 1% below the true front on some seed: ` +
      `${zdtWeak.length > 0 ? zdtWeak.join(', ') : 'none'}. Only NSGA-II is held to the ZDT anchors (packages/solvers/README.md); ` +
      'the others are tuned for the layer problem (their binary operators), and their real-valued variants ' +
      '(MOPSO with box-reflected velocities, few-variable ABC moves, one-variable Gaussian SA steps, ACO_R that can collapse onto one end of ' +
      "ZDT2's concave front) are reported as they are.",
  );

  notes.push(
    `Budget ${BUDGET_MS} ms per run, ${SEEDS.length} seeds; HV on objectives normalised by the reference ` +
      `front's ideal/nadir, reference point (1.1, 1.1); long runs ${LONG_EVALS} evaluations x 2 seeds per algorithm.`,
  );
  notes.push(
    misses.length === 0
      ? `Every algorithm reached >= ${TARGET} of the reference HV on every instance and seed.`
      : `Below ${TARGET} (mean or worst seed): ${misses.join('; ')}.`,
  );
  notes.push(
    'Without the exact importance polish (min-cost flow at fixed layer counts, applied to new ' +
      `archive points), at ${FIXED_EVALS} evaluations, the mean falls below ${TARGET} on: ` +
      (ablationMisses.length > 0 ? ablationMisses.join(', ') : 'none') +
      '. The search alone finds every variance level of the front but not always the best ' +
      'client-to-layer assignment for it; the polish supplies that assignment exactly.',
  );
  notes.push(
    `At a fixed ${FIXED_EVALS} evaluations (deterministic, independent of CPU load; an idle core ` +
      'runs 10,000-100,000 evaluations in 300 ms depending on the algorithm) the mean is below ' +
      `${TARGET} on: ${fixedMisses.length > 0 ? fixedMisses.join(', ') : 'none'}.`,
  );
  notes.push(
    `Machine: ${cpus().length} cores, load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end ` +
      `(time-budgeted results shrink when other jobs share the CPU).`,
  );
  notes.push(
    'ZDT rows: hypervolume at (1.1, 1.1) after 20,000 evaluations (mean and min over seeds); true-front values 0.871 / 0.538 / 1.329.',
  );
  return { name: 'solvers', rows, notes };
}

function avg(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
