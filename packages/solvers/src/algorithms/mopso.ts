import { BaseAlgorithm, type CommonOptions } from '../algorithm.js';
import { dominates } from '../pareto.js';
import { polynomialMutation } from '../operators.js';
import type { Problem, Solution } from '../problem.js';

/**
 * MOPSO (Coello, Pulido, Lechuga 2004): particles fly towards their personal best and a leader
 * drawn from the external archive by roulette over an adaptive grid favouring sparse cells;
 * a mutation (turbulence) operator whose rate shrinks with progress keeps diversity.
 *
 * Binary problems: each bit is 1 with probability sigmoid(z_j), z being the particle's
 * real-valued state moved by the PSO velocity (Kennedy & Eberhart 1997 map sigmoid of velocity
 * to bits; here the velocity is integrated into z first). Attractors (personal best, leader) are
 * 0/1 masks mapped to -zMax/+zMax with zMax = ln(nVar - 1), i.e. a particle that sits on its
 * attractors redraws about one bit per move. This avoids the known drift of classic BPSO, where
 * w*v -> 0 turns the bits every guide agrees on into coin flips. Then the problem's repair.
 */
export interface MopsoOptions extends CommonOptions {
  /** Swarm size (default 100). */
  popSize?: number;
  /** Inertia (default 0.5) multiplied by `inertiaDamping` (default 0.99) every iteration. */
  inertia?: number;
  inertiaDamping?: number;
  /** Cognitive and social coefficients (defaults 1 and 2, Coello 2004). */
  c1?: number;
  c2?: number;
  /** Grid divisions per objective for leader selection (default 7). */
  gridDivisions?: number;
  /**
   * Mutation rate (default 0.1): a particle is mutated with probability
   * max(rate, (1 - progress)^(1/rate)), i.e. Coello's decaying turbulence with a floor.
   */
  mutationRate?: number;
}

interface Particle {
  z: number[];
  v: number[];
  cur: Solution;
  best: Solution;
}

export class Mopso extends BaseAlgorithm {
  readonly name = 'mopso';
  readonly options: Required<Omit<MopsoOptions, keyof CommonOptions>>;
  private swarm: Particle[] = [];
  private w: number;
  private readonly zMax: number;
  private readonly vMax: number[];

  constructor(problem: Problem, opts: MopsoOptions = {}) {
    super(problem, opts);
    this.options = {
      popSize: opts.popSize ?? 100,
      inertia: opts.inertia ?? 0.5,
      inertiaDamping: opts.inertiaDamping ?? 0.99,
      c1: opts.c1 ?? 1,
      c2: opts.c2 ?? 2,
      gridDivisions: opts.gridDivisions ?? 7,
      mutationRate: opts.mutationRate ?? 0.1,
    };
    if (!Number.isInteger(this.options.popSize) || this.options.popSize < 2) {
      throw new Error(`popSize: expected an integer >= 2, got ${this.options.popSize}`);
    }
    this.w = this.options.inertia;
    this.zMax = Math.log(Math.max(2, problem.nVar - 1));
    this.vMax =
      problem.kind === 'binary'
        ? new Array<number>(problem.nVar).fill(2 * this.zMax)
        : problem.upper!.map((hi, j) => 0.5 * (hi - problem.lower![j]));
  }

  private toState(x: readonly number[]): number[] {
    return this.problem.kind === 'binary'
      ? x.map((b) => (b === 1 ? this.zMax : -this.zMax))
      : x.slice();
  }

  protected initialize(): void {
    const xs = this.initialVectors(this.options.popSize);
    // evaluateAll returns a prefix of xs (cut short at the deadline), in order.
    this.swarm = this.evaluateAll(xs).map((s, k) => ({
      z: this.toState(xs[k]),
      v: new Array<number>(xs[k].length).fill(0),
      cur: s,
      best: s,
    }));
  }

  protected iterate(): void {
    const { c1, c2, mutationRate } = this.options;
    const p = this.problem;
    const rng = this.rng;
    const leaders = this.archive.items.slice();
    const weights = this.leaderWeights();
    // Turbulence: Coello's shrinking schedule, floored at mutationRate (without the floor the
    // swarm collapses onto one end of ZDT2's concave front: HV 0.11 instead of 0.54).
    const pm = Math.max(mutationRate, Math.pow(1 - this.progress(), 1 / mutationRate));
    for (const pt of this.swarm) {
      if (!this.canContinue()) break;
      const leader = this.toState(leaders[rng.roulette(weights)].x);
      const pbest = this.toState(pt.best.x);
      const n = pt.z.length;
      for (let j = 0; j < n; j++) {
        let v =
          this.w * pt.v[j] +
          c1 * rng.next() * (pbest[j] - pt.z[j]) +
          c2 * rng.next() * (leader[j] - pt.z[j]);
        const vm = this.vMax[j];
        v = v > vm ? vm : v < -vm ? -vm : v;
        pt.v[j] = v;
        let z = pt.z[j] + v;
        if (p.kind === 'binary') {
          z = Math.min(this.zMax, Math.max(-this.zMax, z));
        } else {
          const lo = p.lower![j];
          const hi = p.upper![j];
          // Reflect the velocity at the box (Coello 2004).
          if (z < lo || z > hi) {
            z = Math.min(hi, Math.max(lo, z));
            pt.v[j] = -pt.v[j];
          }
        }
        pt.z[j] = z;
      }
      let x: number[];
      if (p.kind === 'binary') {
        x = pt.z.map((z) => (rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0));
        x = this.repair(x);
        if (rng.chance(pm)) x = this.neighbor(x);
      } else {
        x = pt.z.slice();
        if (rng.chance(pm)) polynomialMutation(x, p.lower!, p.upper!, rng, 20, 1 / n);
        x = this.repair(x);
        pt.z = x.slice();
      }
      pt.cur = this.evaluate(x);
      if (p.kind === 'binary') pt.z = this.toState(x);
      // Personal best: replace when dominated, keep when dominating, else a coin flip.
      if (dominates(pt.cur.f, pt.best.f) || (!dominates(pt.best.f, pt.cur.f) && rng.chance(0.5)))
        pt.best = pt.cur;
    }
    this.w *= this.options.inertiaDamping;
  }

  /** Roulette weights for archive members: 1 / (members in the same grid cell). */
  private leaderWeights(): number[] {
    const items = this.archive.items;
    const m = this.problem.nObj;
    const div = this.options.gridDivisions;
    const lo = new Array<number>(m).fill(Infinity);
    const hi = new Array<number>(m).fill(-Infinity);
    for (const s of items) {
      for (let k = 0; k < m; k++) {
        lo[k] = Math.min(lo[k], s.f[k]);
        hi[k] = Math.max(hi[k], s.f[k]);
      }
    }
    const keys = items.map((s) =>
      s.f
        .map((v, k) => {
          const span = hi[k] - lo[k];
          return span > 0 ? Math.min(div - 1, Math.floor(((v - lo[k]) / span) * div)) : 0;
        })
        .join(','),
    );
    const count = new Map<string, number>();
    for (const k of keys) count.set(k, (count.get(k) ?? 0) + 1);
    return keys.map((k) => 1 / count.get(k)!);
  }
}
