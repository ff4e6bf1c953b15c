import { BaseAlgorithm, type CommonOptions } from '../algorithm.js';
import { dominates } from '../pareto.js';
import type { Problem, Solution } from '../problem.js';

/**
 * Archived multi-objective simulated annealing (AMOSA, Bandyopadhyay, Saha, Maulik, Deb 2008).
 * One current point; a new point is a problem-aware neighbour. Acceptance follows AMOSA's three
 * cases using the amount of domination
 *   dd(a, b) = prod over objectives where a and b differ of |f_k(a) - f_k(b)| / R_k
 * (R_k = range of objective k over archive + new point). The product starts at 1: one public
 * implementation starts it at 0, which makes every amount 0 (docs/method.md §2).
 * Acceptance probability of a worse point: 1 / (1 + exp(dd_avg / T)).
 *
 * Schedule: T = Tmax * (Tmin / Tmax)^progress, progress being the used fraction of the
 * evaluation or time budget. This is AMOSA's geometric cooling T <- alpha T compressed into the
 * budget the caller gives (with 500 iterations per temperature and alpha 0.8 the paper's
 * schedule needs ~46,000 evaluations, more than 300 ms allow). The archive is the shared
 * external archive (crowding truncation instead of AMOSA's single-linkage clustering).
 */
export interface SaOptions extends CommonOptions {
  /** Start and end temperatures (defaults 200 and 1e-7, AMOSA). */
  tMax?: number;
  tMin?: number;
  /** Initial points evaluated (seeds + random) before annealing (default 50). */
  initialPoints?: number;
  /**
   * Probability, every 50 iterations, of restarting the walk from a random archive member
   * (default 0.5) so that one chain covers the whole front rather than one region of it.
   */
  restart?: number;
}

export class Sa extends BaseAlgorithm {
  readonly name = 'sa';
  readonly options: Required<Omit<SaOptions, keyof CommonOptions>>;
  private current!: Solution;
  /** Iterations per `step()`: keeps the time check cheap. */
  private readonly batch = 50;

  constructor(problem: Problem, opts: SaOptions = {}) {
    super(problem, opts);
    this.options = {
      tMax: opts.tMax ?? 200,
      tMin: opts.tMin ?? 1e-7,
      initialPoints: opts.initialPoints ?? 50,
      restart: opts.restart ?? 0.5,
    };
    if (!(this.options.tMax > this.options.tMin && this.options.tMin > 0)) {
      throw new Error(
        `tMax/tMin: expected tMax > tMin > 0, got ${this.options.tMax} / ${this.options.tMin}`,
      );
    }
  }

  protected initialize(): void {
    const pts = this.evaluateAll(this.initialVectors(this.options.initialPoints));
    const arch = this.archive.items;
    this.current = arch.length > 0 ? arch[this.rng.int(arch.length)] : pts[0];
  }

  protected iterate(): void {
    const arch = this.archive.items;
    if (arch.length > 0 && this.rng.chance(this.options.restart))
      this.current = arch[this.rng.int(arch.length)];
    for (let t = 0; t < this.batch && this.canContinue(); t++) this.anneal();
  }

  private temperature(): number {
    const { tMax, tMin } = this.options;
    return tMax * Math.pow(tMin / tMax, this.progress());
  }

  private anneal(): void {
    const rng = this.rng;
    const T = this.temperature();
    const cand: Solution = { x: this.neighbor(this.current.x), f: [] };
    cand.f = this.problem.evaluate(cand.x);
    this.evaluations++;
    const arch = this.archive.items;
    const R = this.ranges(cand.f);
    const accept = (dd: number): boolean => rng.next() < 1 / (1 + Math.exp(dd / T));
    const cur = this.current;
    const dominators = arch.filter((a) => dominates(a.f, cand.f));

    if (dominates(cur.f, cand.f)) {
      // Case 1: current dominates new.
      let sum = amountOfDomination(cur.f, cand.f, R);
      for (const a of dominators) sum += amountOfDomination(a.f, cand.f, R);
      if (accept(sum / (dominators.length + 1))) this.current = cand;
      return;
    }
    if (!dominates(cand.f, cur.f)) {
      // Case 2: current and new are mutually non-dominated.
      if (dominators.length > 0) {
        let sum = 0;
        for (const a of dominators) sum += amountOfDomination(a.f, cand.f, R);
        if (accept(sum / dominators.length)) this.current = cand;
      } else {
        this.archive.add(cand);
        this.current = this.polishEntry(cand);
      }
      return;
    }
    // Case 3: new dominates current.
    if (dominators.length > 0) {
      let best = dominators[0];
      let min = Infinity;
      for (const a of dominators) {
        const d = amountOfDomination(a.f, cand.f, R);
        if (d < min) {
          min = d;
          best = a;
        }
      }
      // AMOSA: move to the closest dominating archive point with prob 1 / (1 + exp(-dd_min)).
      this.current = rng.next() < 1 / (1 + Math.exp(-min)) ? best : cand;
    } else {
      this.archive.add(cand);
      this.current = this.polishEntry(cand);
    }
  }

  private ranges(extra: readonly number[]): number[] {
    const m = extra.length;
    const lo = extra.slice();
    const hi = extra.slice();
    for (const a of this.archive.items) {
      for (let k = 0; k < m; k++) {
        if (a.f[k] < lo[k]) lo[k] = a.f[k];
        if (a.f[k] > hi[k]) hi[k] = a.f[k];
      }
    }
    return hi.map((h, k) => h - lo[k]);
  }
}

/** AMOSA's amount of domination of a over b; the product starts at 1 (see above). */
export function amountOfDomination(
  a: readonly number[],
  b: readonly number[],
  ranges: readonly number[],
): number {
  let prod = 1;
  for (let k = 0; k < a.length; k++) {
    if (a[k] !== b[k] && ranges[k] > 0) prod *= Math.abs(a[k] - b[k]) / ranges[k];
  }
  return prod;
}
