import { BaseAlgorithm, type CommonOptions } from '../algorithm.js';
import { crowdingDistance, dominates, fastNonDominatedSort } from '../pareto.js';
import type { Problem, Solution } from '../problem.js';

/**
 * Multi-objective artificial bee colony (Karaboga 2005; MO variant after Akbari et al. 2012):
 * employed bees move each food source towards a random other source or an archive member,
 * onlookers revisit sources chosen by fitness (Pareto rank, then crowding), scouts replace
 * sources that failed `limit` times. The external archive holds the non-dominated set.
 *
 * Moves: real problems change one variable, v_j = x_j + phi (x_j - k_j), phi in U[-1, 1]
 * (Karaboga's rule), and each other variable with probability `modificationRate`. Binary
 * problems copy each differing bit of the partner with probability phi in U[0, 1] (the
 * binary analogue), then repair; an unchanged candidate gets one problem-aware move instead.
 * Greedy selection: the candidate replaces the source if it dominates it, or with probability
 * 1/2 when neither dominates.
 */
export interface AbcOptions extends CommonOptions {
  /** Number of food sources = employed bees = onlookers (default 50). */
  sources?: number;
  /**
   * Failures before a source is abandoned (default 100). Karaboga's sources*dims would be
   * 10,800 for 9 x 24 masks, i.e. never within a 300 ms budget.
   */
  limit?: number;
  /**
   * Real problems: probability that each further variable moves too (Akay & Karaboga 2012's
   * modification rate; default 0.1: ZDT1-3 HV 0.869 / 0.536 / 1.292 at 20,000 evaluations vs
   * 0.792 / 0.466 / 1.201 with Karaboga's one-variable move, rate 0).
   */
  modificationRate?: number;
  /** Probability that the partner is an archive member rather than another source (default 0.5). */
  archiveGuide?: number;
}

export class Abc extends BaseAlgorithm {
  readonly name = 'abc';
  readonly options: Required<Omit<AbcOptions, keyof CommonOptions>>;
  private food: Solution[] = [];
  private trials: number[] = [];

  constructor(problem: Problem, opts: AbcOptions = {}) {
    super(problem, opts);
    this.options = {
      sources: opts.sources ?? 50,
      limit: opts.limit ?? 100,
      archiveGuide: opts.archiveGuide ?? 0.5,
      modificationRate: opts.modificationRate ?? 0.1,
    };
    if (!Number.isInteger(this.options.sources) || this.options.sources < 2) {
      throw new Error(`sources: expected an integer >= 2, got ${this.options.sources}`);
    }
  }

  protected initialize(): void {
    this.food = this.evaluateAll(this.initialVectors(this.options.sources));
    this.trials = new Array<number>(this.food.length).fill(0);
  }

  protected iterate(): void {
    const n = this.food.length;
    // Employed bees: one move per source.
    for (let i = 0; i < n && this.canContinue(); i++) this.tryMove(i);
    // Onlookers: sources chosen with probability ~ fitness.
    const fit = this.fitness();
    for (let t = 0; t < n && this.canContinue(); t++) this.tryMove(this.rng.roulette(fit));
    // Scouts: abandon exhausted sources; restart near an archive member or at random.
    for (let i = 0; i < n && this.canContinue(); i++) {
      if (this.trials[i] <= this.options.limit) continue;
      const arch = this.archive.items;
      const x =
        this.rng.chance(0.5) && arch.length > 0
          ? this.neighbor(arch[this.rng.int(arch.length)].x)
          : this.repair(this.problem.sample(this.rng));
      this.food[i] = this.evaluate(x);
      this.trials[i] = 0;
    }
  }

  private tryMove(i: number): void {
    const rng = this.rng;
    const x = this.food[i].x;
    const arch = this.archive.items;
    let partner: readonly number[];
    if (arch.length > 0 && rng.chance(this.options.archiveGuide))
      partner = arch[rng.int(arch.length)].x;
    else {
      let k = rng.int(this.food.length - 1);
      if (k >= i) k++;
      partner = this.food[k].x;
    }
    const cand = this.move(x, partner);
    const s = this.evaluate(cand);
    const cur = this.food[i];
    if (dominates(s.f, cur.f) || (!dominates(cur.f, s.f) && rng.chance(0.5))) {
      this.food[i] = s;
      this.trials[i] = dominates(s.f, cur.f) ? 0 : this.trials[i] + 1;
    } else this.trials[i]++;
  }

  private move(x: readonly number[], k: readonly number[]): number[] {
    const p: Problem = this.problem;
    const rng = this.rng;
    if (p.kind === 'real') {
      const y = x.slice();
      const mr = this.options.modificationRate;
      const forced = rng.int(y.length);
      for (let j = 0; j < y.length; j++) {
        if (j === forced || rng.chance(mr)) y[j] = x[j] + rng.uniform(-1, 1) * (x[j] - k[j]);
      }
      return this.repair(y);
    }
    const phi = rng.next();
    let y = x.slice();
    let changed = false;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== k[j] && rng.chance(phi)) {
        y[j] = k[j];
        changed = true;
      }
    }
    y = this.repair(y);
    if (!changed || y.every((v, j) => v === x[j])) y = this.neighbor(x);
    return y;
  }

  /** Fitness for the onlooker roulette: 1 / (1 + rank), crowded points of a front slightly less. */
  private fitness(): number[] {
    const objs = this.food.map((s) => s.f);
    const fit = new Array<number>(objs.length).fill(0);
    fastNonDominatedSort(objs).forEach((front, r) => {
      const cd = crowdingDistance(objs, front);
      front.forEach((i, k) => {
        const c = Number.isFinite(cd[k]) ? Math.min(cd[k], 1) : 1;
        fit[i] = (1 + 0.5 * c) / (1 + r);
      });
    });
    return fit;
  }
}
