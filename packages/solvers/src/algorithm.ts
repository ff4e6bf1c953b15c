import { Archive } from './archive.js';
import { repairOf, type Problem, type Solution } from './problem.js';
import { Rng } from './rng.js';

/**
 * Lifecycle shared by the five algorithms (pymoo's `Algorithm`): construct with a problem and
 * options, call `step()` until `done()`, then `result()`. `step()` runs one generation /
 * iteration, so a caller (the coordinator) can bound the time it spends, interleave other work
 * or stop early; `done()` checks the evaluation and time budgets.
 */
export interface Termination {
  /** Stop once this many evaluations are spent (a step may overshoot by < one generation). */
  maxEvaluations?: number;
  /**
   * Stop once this much wall time has passed since the first step. A time budget also drives
   * the schedules (SA temperature, MOPSO mutation) and the polish shares, so the result depends
   * on the machine's speed; prefer `maxEvaluations` + `timeCapMs` where results must repeat.
   */
  maxTimeMs?: number;
  /**
   * Early stop: end the run once this many evaluations in a row brought no new point into the
   * archive (the Pareto front stopped improving). Checked between steps, so it is a function
   * of the seed only.
   */
  stallEvaluations?: number;
  /**
   * Safety cap in wall ms: stop here even if budget is left (checked inside steps as
   * `maxTimeMs` is). Unlike `maxTimeMs` it drives no schedule and no polish share, so a run the
   * cap does not cut is identical for a seed on any machine and under any load;
   * `stoppedBy: 'cap'` says when it did cut.
   */
  timeCapMs?: number;
}

/** Why a run ended (first reason found, checked in this order). */
export type StopReason = 'evaluations' | 'stall' | 'time' | 'cap';

export interface CommonOptions extends Termination {
  /** Seed of the run's RNG (default 1). Same seed + same evaluation budget = same result. */
  seed?: number;
  /** Capacity of the external non-dominated archive (default 200). */
  archiveSize?: number;
  /**
   * Apply the problem's exact `improve` (importance polish for layer selection) to every point
   * that enters the archive, keeping the improved point (default true). A memetic step shared
   * by all five algorithms; each polished point costs one extra evaluation.
   */
  polish?: boolean;
  /** Clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
}

/** Evaluation budget used when neither budget is given. */
export const DEFAULT_MAX_EVALUATIONS = 20_000;

/** Largest share of a time budget one polish may take (see `BaseAlgorithm.polishEntry`). */
export const POLISH_SHARE = 0.25;
/**
 * Share of the elapsed time all polishes together may take, plus an allowance (share of the
 * budget) for the first ones. On 9 x 24 at 300 ms the polishes take ~8% of the time (0.24 ms
 * each), so neither limit binds there; they bind for 1,000 clients.
 */
export const POLISH_TIME_SHARE = 0.5;
export const POLISH_ALLOWANCE = 0.05;

export interface AlgorithmResult {
  algorithm: string;
  /** Non-dominated solutions found (distinct objective vectors), sorted by the first objective. */
  front: Solution[];
  evaluations: number;
  iterations: number;
  elapsedMs: number;
  /** Why the run ended; null when `result()` was called before a budget was spent. */
  stoppedBy: StopReason | null;
}

export interface Algorithm {
  readonly name: string;
  readonly problem: Problem;
  readonly evaluations: number;
  done(): boolean;
  step(): void;
  result(): AlgorithmResult;
}

export abstract class BaseAlgorithm implements Algorithm {
  abstract readonly name: string;
  readonly rng: Rng;
  readonly archive: Archive;
  evaluations = 0;
  iterations = 0;
  protected readonly maxEvaluations: number;
  protected readonly maxTimeMs: number;
  private readonly stallEvaluations: number;
  private readonly timeCapMs: number;
  /** Evaluation count when a point last entered the archive (early stop). */
  private lastImprovement = 0;
  private readonly now: () => number;
  private readonly polish: boolean;
  private readonly polished = new Set<string>();
  private startedAt = -1;
  private lastStepEnd = -1;
  /** Set when one polish overran its share of a time budget: the rest of the run skips it. */
  private polishTooSlow = false;
  /** Wall time spent in polishes so far (time-budgeted runs). */
  private polishMs = 0;

  constructor(
    readonly problem: Problem,
    opts: CommonOptions,
  ) {
    const seed = opts.seed ?? 1;
    if (!Number.isInteger(seed)) throw new Error(`seed: expected an integer, got ${seed}`);
    this.rng = new Rng(seed);
    this.archive = new Archive(opts.archiveSize ?? 200);
    const noBudget = opts.maxEvaluations === undefined && opts.maxTimeMs === undefined;
    this.maxEvaluations = opts.maxEvaluations ?? (noBudget ? DEFAULT_MAX_EVALUATIONS : Infinity);
    this.maxTimeMs = opts.maxTimeMs ?? Infinity;
    this.stallEvaluations = opts.stallEvaluations ?? Infinity;
    this.timeCapMs = opts.timeCapMs ?? Infinity;
    for (const [name, v, given] of [
      ['maxEvaluations', this.maxEvaluations, opts.maxEvaluations],
      ['maxTimeMs', this.maxTimeMs, opts.maxTimeMs],
      ['stallEvaluations', this.stallEvaluations, opts.stallEvaluations],
      ['timeCapMs', this.timeCapMs, opts.timeCapMs],
    ] as const) {
      if (!(v > 0)) throw new Error(`${name}: expected a positive number, got ${given}`);
    }
    this.now = opts.now ?? (() => performance.now());
    this.polish = opts.polish ?? true;
  }

  /** Elapsed ms since the first step (0 before it). */
  get elapsedMs(): number {
    return this.startedAt < 0
      ? 0
      : (this.lastStepEnd < 0 ? this.now() : this.lastStepEnd) - this.startedAt;
  }

  /** Fraction of the budget used, in [0, 1]: drives schedules (SA temperature, PSO inertia). */
  protected progress(): number {
    const e = this.evaluations / this.maxEvaluations;
    const t = this.startedAt < 0 ? 0 : (this.now() - this.startedAt) / this.maxTimeMs;
    return Math.min(1, Math.max(e, t));
  }

  done(): boolean {
    return this.stopReason() !== null;
  }

  /** Why the run is over, or null while budget is left. */
  stopReason(): StopReason | null {
    if (this.evaluations >= this.maxEvaluations) return 'evaluations';
    // Only after the first step: the initial population always enters the archive.
    if (this.startedAt >= 0 && this.evaluations - this.lastImprovement >= this.stallEvaluations)
      return 'stall';
    if (this.maxTimeMs === Infinity && this.timeCapMs === Infinity) return null;
    if (this.startedAt < 0) return null;
    const t = this.now() - this.startedAt;
    if (t >= this.maxTimeMs) return 'time';
    return t >= this.timeCapMs ? 'cap' : null;
  }

  /** The time budget or cap is spent (checked inside long steps, not only between them). */
  protected timeUp(): boolean {
    const limit = Math.min(this.maxTimeMs, this.timeCapMs);
    if (limit === Infinity) return false;
    return this.startedAt >= 0 && this.now() - this.startedAt >= limit;
  }

  /**
   * Loop guard inside a step: evaluation budget left and, every 8 evaluations (the clock read
   * costs about as much as a small evaluation), time left. Keeps a step on 1,000 x 24 (100
   * evaluations of 24,000 variables plus polishes) from overrunning the deadline.
   */
  protected canContinue(): boolean {
    if (this.evaluations >= this.maxEvaluations) return false;
    return (this.evaluations & 7) !== 0 || !this.timeUp();
  }

  /**
   * Evaluate starting vectors in order until the time budget runs out (at least `min`, so a
   * cut-short first step still returns a feasible front: the problem's seeds come first, the
   * greedy one first of all). With 1,000 clients the old uninterruptible first step (seeds +
   * a polish per archive entry) took 2.5-3.2 s against a 300 ms budget.
   */
  protected evaluateAll(xs: number[][], min = 2): Solution[] {
    const out: Solution[] = [];
    for (const x of xs) {
      if (out.length >= min && this.timeUp()) break;
      out.push(this.evaluate(x));
    }
    return out;
  }

  step(): void {
    if (this.startedAt < 0) {
      this.startedAt = this.now();
      this.initialize();
    } else {
      this.iterate();
    }
    this.iterations++;
    this.lastStepEnd = this.now();
  }

  result(): AlgorithmResult {
    const front = this.archive.items.map((s) => ({ x: s.x.slice(), f: s.f.slice() }));
    front.sort((a, b) => a.f[0] - b.f[0] || a.f[1] - b.f[1]);
    return {
      algorithm: this.name,
      front,
      evaluations: this.evaluations,
      iterations: this.iterations,
      elapsedMs: this.elapsedMs,
      stoppedBy: this.stopReason(),
    };
  }

  /** First step: build and evaluate the starting population. */
  protected abstract initialize(): void;
  /** Later steps: one generation / iteration. */
  protected abstract iterate(): void;

  /** Evaluate a feasible x (counts one evaluation, feeds the archive). */
  protected evaluate(x: number[]): Solution {
    const f = this.problem.evaluate(x);
    this.evaluations++;
    const s = { x, f };
    if (!this.archive.add(s)) return s;
    this.lastImprovement = this.evaluations;
    return this.polishEntry(s);
  }

  /**
   * Called for a point that just entered the archive: returns its polished version (evaluated
   * and archived) when the problem can improve it, else the point itself.
   */
  protected polishEntry(s: Solution): Solution {
    if (!this.polish || !this.problem.improve || this.evaluations >= this.maxEvaluations) return s;
    let y: number[] | null;
    if (this.maxTimeMs === Infinity && this.timeCapMs === Infinity) {
      y = this.problem.improve(s.x, this.polished);
    } else if (this.maxTimeMs === Infinity) {
      // A cap only: the polish runs to the end unless the cap itself is reached (no time
      // shares, which would make the result depend on the machine's speed).
      if (this.timeUp()) return s;
      y = this.problem.improve(s.x, this.polished, () => this.timeUp());
    } else {
      // Time budget: the polish (a min-cost flow, seconds for 1,000 x 24) stops at the deadline,
      // and one polish may use at most POLISH_SHARE of the budget; one that overruns it switches
      // the polish off for this run, so the search keeps the rest of the time.
      // Polishes also take at most POLISH_TIME_SHARE of the time so far (plus a small allowance
      // for the first), so that with 1,000 clients, where each costs 20-150 ms and every point
      // of the first population enters the archive, the search still gets its half.
      if (this.polishTooSlow || this.timeUp()) return s;
      const t0 = this.now();
      const allowance = POLISH_ALLOWANCE * this.maxTimeMs;
      if (this.polishMs > POLISH_TIME_SHARE * (t0 - this.startedAt) + allowance) return s;
      const end = Math.min(this.startedAt + this.maxTimeMs, t0 + POLISH_SHARE * this.maxTimeMs);
      let stopped = false;
      y = this.problem.improve(s.x, this.polished, () => (stopped ||= this.now() >= end));
      if (stopped && !this.timeUp()) this.polishTooSlow = true;
      this.polishMs += this.now() - t0;
    }
    if (!y) return s;
    const t = { x: y, f: this.problem.evaluate(y) };
    this.evaluations++;
    if (this.archive.add(t)) this.lastImprovement = this.evaluations;
    return t;
  }

  protected repair(x: number[]): number[] {
    return repairOf(this.problem, x, this.rng);
  }

  /**
   * Starting decision vectors: the problem's seeds first (at most half the population, so random
   * diversity remains), then random samples; all repaired.
   */
  protected initialVectors(n: number): number[][] {
    const seeds = this.problem.seeds ? this.problem.seeds(this.rng) : [];
    const out: number[][] = [];
    const seen = new Set<string>();
    for (const s of seeds) {
      if (out.length >= Math.ceil(n / 2)) break;
      const x = this.repair(s.slice());
      const key = x.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(x);
    }
    while (out.length < n) out.push(this.repair(this.problem.sample(this.rng)));
    return out;
  }

  /** Problem-aware small move, or generic mutation when the problem has none. */
  protected neighbor(x: readonly number[]): number[] {
    const p = this.problem;
    if (p.neighbor) return p.neighbor(x, this.rng);
    const y = x.slice();
    if (p.kind === 'binary') {
      const j = this.rng.int(y.length);
      y[j] = 1 - y[j];
    } else {
      const j = this.rng.int(y.length);
      const lo = p.lower![j];
      const hi = p.upper![j];
      y[j] = Math.min(hi, Math.max(lo, y[j] + 0.1 * (hi - lo) * this.rng.normal()));
    }
    return this.repair(y);
  }
}
