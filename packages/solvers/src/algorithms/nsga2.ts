import { BaseAlgorithm, type CommonOptions } from '../algorithm.js';
import { crowdingDistance, fastNonDominatedSort } from '../pareto.js';
import {
  bitFlip,
  groupCrossover,
  polynomialMutation,
  sbx,
  twoPointCrossover,
  uniformCrossover,
} from '../operators.js';
import type { Problem, Solution } from '../problem.js';

/**
 * NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002): binary tournament on (rank, crowding),
 * crossover + mutation, elitist (mu + lambda) survival by non-dominated sort then crowding.
 */
export interface Nsga2Options extends CommonOptions {
  /** Population size (default 100, pymoo). */
  popSize?: number;
  /** Probability that a pair is crossed (default 0.9). */
  crossoverProb?: number;
  /**
   * Binary crossover (default 'two-point', pymoo's binary default; 'group' swaps whole client
   * rows, 'uniform' single bits).
   */
  binaryCrossover?: 'two-point' | 'uniform' | 'group';
  /** Bit-flip probability per bit (default 1/nVar). */
  bitFlipProb?: number;
  /**
   * Probability that an offspring also gets one problem-aware move (`problem.neighbor`, e.g.
   * swap a client's layer); default 0. Measured on 9 x 24 / 5 x 12 instances at 3,000-8,000
   * evaluations, 0 beat 0.1-1 (mean HV ratio 0.9979 vs 0.9966 at 0.5, 0.9904 at 1): crossover,
   * bit-flip and repair already move well, and the archive polish does the fine-tuning. The
   * neighbourhood is still used to make duplicate offspring distinct.
   */
  neighborProb?: number;
  /** SBX distribution index (default 15) and polynomial-mutation index (default 20). */
  sbxEta?: number;
  pmEta?: number;
  /** Retries to make an offspring differ from every current member (default 3; pymoo dedups). */
  dedupRetries?: number;
}

export class Nsga2 extends BaseAlgorithm {
  readonly name = 'nsga2';
  readonly options: Required<Omit<Nsga2Options, keyof CommonOptions>>;
  private pop: Solution[] = [];
  private rank: number[] = [];
  private crowd: number[] = [];

  constructor(problem: Problem, opts: Nsga2Options = {}) {
    super(problem, opts);
    this.options = {
      popSize: opts.popSize ?? 100,
      crossoverProb: opts.crossoverProb ?? 0.9,
      binaryCrossover: opts.binaryCrossover ?? 'two-point',
      bitFlipProb: opts.bitFlipProb ?? 1 / problem.nVar,
      neighborProb: opts.neighborProb ?? 0,
      sbxEta: opts.sbxEta ?? 15,
      pmEta: opts.pmEta ?? 20,
      dedupRetries: opts.dedupRetries ?? 3,
    };
    if (!Number.isInteger(this.options.popSize) || this.options.popSize < 4) {
      throw new Error(`popSize: expected an integer >= 4, got ${this.options.popSize}`);
    }
  }

  protected initialize(): void {
    this.pop = this.evaluateAll(this.initialVectors(this.options.popSize));
    this.survive(this.pop);
  }

  protected iterate(): void {
    const { popSize } = this.options;
    const seen = new Set(this.pop.map((s) => hashVector(s.x)));
    const offspring: Solution[] = [];
    while (offspring.length < popSize && this.canContinue()) {
      const a = this.pop[this.tournament()].x;
      const b = this.pop[this.tournament()].x;
      for (const child of this.vary(a, b)) {
        if (offspring.length >= popSize || !this.canContinue()) break;
        let c = child;
        let key = hashVector(c);
        for (let t = 0; t < this.options.dedupRetries && seen.has(key); t++) {
          c = this.neighbor(c);
          key = hashVector(c);
        }
        seen.add(key);
        offspring.push(this.evaluate(c));
      }
    }
    this.survive(this.pop.concat(offspring));
  }

  private vary(a: number[], b: number[]): number[][] {
    const p = this.problem;
    const o = this.options;
    const rng = this.rng;
    let c: [number[], number[]];
    if (!rng.chance(o.crossoverProb)) c = [a.slice(), b.slice()];
    else if (p.kind === 'real') c = sbx(a, b, p.lower!, p.upper!, rng, o.sbxEta);
    else if (o.binaryCrossover === 'uniform') c = uniformCrossover(a, b, rng);
    else if (o.binaryCrossover === 'group' && p.grouped)
      c = groupCrossover(a, b, p.grouped.groupSize, rng);
    else c = twoPointCrossover(a, b, rng);
    return c.map((x) => {
      if (p.kind === 'real') polynomialMutation(x, p.lower!, p.upper!, rng, o.pmEta);
      else bitFlip(x, rng, o.bitFlipProb);
      let y = this.repair(x);
      if (o.neighborProb > 0 && rng.chance(o.neighborProb)) y = this.neighbor(y);
      return y;
    });
  }

  /** Binary tournament: lower rank wins, then larger crowding distance. */
  private tournament(): number {
    const i = this.rng.int(this.pop.length);
    const j = this.rng.int(this.pop.length);
    if (this.rank[i] !== this.rank[j]) return this.rank[i] < this.rank[j] ? i : j;
    if (this.crowd[i] !== this.crowd[j]) return this.crowd[i] > this.crowd[j] ? i : j;
    return this.rng.chance(0.5) ? i : j;
  }

  private survive(all: Solution[]): void {
    const n = this.options.popSize;
    const objs = all.map((s) => s.f);
    const fronts = fastNonDominatedSort(objs);
    const next: Solution[] = [];
    const rank: number[] = [];
    const crowd: number[] = [];
    for (let r = 0; r < fronts.length && next.length < n; r++) {
      const front = fronts[r];
      const cd = crowdingDistance(objs, front);
      let order = front.map((_, k) => k);
      if (next.length + front.length > n) {
        order.sort((p, q) => cd[q] - cd[p] || p - q);
        order = order.slice(0, n - next.length);
      }
      for (const k of order) {
        next.push(all[front[k]]);
        rank.push(r);
        crowd.push(cd[k]);
      }
    }
    this.pop = next;
    this.rank = rank;
    this.crowd = crowd;
  }
}

/**
 * 52-bit hash of a decision vector for duplicate checks (two 26-bit FNV-style lanes). A
 * collision only makes a distinct child take one extra neighbourhood move.
 */
function hashVector(x: readonly number[]): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let j = 0; j < x.length; j++) {
    const v = Math.round(x[j] * 1e6) | 0;
    a = Math.imul(a ^ v, 0x01000193) >>> 0;
    b = Math.imul(b ^ (v + j), 0x5bd1e995) >>> 0;
  }
  return (a & 0x3ffffff) * 0x4000000 + (b & 0x3ffffff);
}
