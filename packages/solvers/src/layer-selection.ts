import { bestAssignmentForCounts } from './assignment.js';
import type { GroupedBinary, Problem } from './problem.js';
import type { Rng } from './rng.js';
import { validateSelectionInput, type SelectionInput } from './selection-input.js';

/** Relative frequencies of the neighbourhood moves (see `LayerSelectionProblem.neighbor`). */
export interface MoveWeights {
  add: number;
  drop: number;
  balance: number;
  importance: number;
  exchange: number;
  swap: number;
}

export const DEFAULT_MOVE_WEIGHTS: Readonly<MoveWeights> = {
  add: 0.12,
  drop: 0.12,
  balance: 0.15,
  importance: 0.15,
  exchange: 0.2,
  swap: 0.26,
};

/** Most capped-greedy seeds for large client counts (see `seeds`). */
export const MAX_CAP_SEEDS = 30;

/**
 * The server's data-free layer-selection problem (docs/method.md §2):
 *   variables m[i][l] in {0,1} (client i trains layer l), flattened x[i * L + l];
 *   maximise I(m) = sum_i sum_l m[i][l] S_i[l];
 *   minimise V(m) = (1/L) sum_l (n_l - mean(n))^2, n_l = sum_i m[i][l];
 *   subject to sum_l m[i][l] <= B_i.
 * In minimisation form the objectives are f = [-I(m), V(m)].
 */
export class LayerSelectionProblem implements Problem {
  readonly name = 'layer-selection';
  readonly kind = 'binary' as const;
  readonly nObj = 2;
  readonly nVar: number;
  readonly clients: number;
  readonly layers: number;
  readonly scores: readonly (readonly number[])[];
  readonly budgets: readonly number[];
  readonly grouped: GroupedBinary;
  /** Per client, layer indices by descending score (ties by index): used by repair and seeds. */
  private readonly order: number[][];
  private sortedCells: Int32Array | undefined;
  /** Relative frequencies of the `neighbor` moves. */
  readonly moveWeights: Readonly<MoveWeights>;

  constructor(input: SelectionInput | unknown, opts: { moveWeights?: Partial<MoveWeights> } = {}) {
    this.moveWeights = { ...DEFAULT_MOVE_WEIGHTS, ...opts.moveWeights };
    const { scores, budgets } = validateSelectionInput(input);
    this.scores = scores;
    this.budgets = budgets;
    this.clients = scores.length;
    this.layers = scores[0].length;
    this.nVar = this.clients * this.layers;
    this.order = scores.map((row) => row.map((_, l) => l).sort((a, b) => row[b] - row[a] || a - b));
    this.grouped = {
      groups: this.clients,
      groupSize: this.layers,
      budgets,
      heuristic: (g, l) => scores[g][l],
    };
  }

  evaluate(x: readonly number[]): number[] {
    const { clients: C, layers: L, scores } = this;
    const n = new Array<number>(L).fill(0);
    let imp = 0;
    for (let i = 0; i < C; i++) {
      const row = scores[i];
      const base = i * L;
      for (let l = 0; l < L; l++) {
        if (x[base + l] === 1) {
          imp += row[l];
          n[l]++;
        }
      }
    }
    return [-imp, varianceOfCounts(n)];
  }

  /** Uniformly random count k_i in 0..B_i per client, then k_i random layers. */
  sample(rng: Rng): number[] {
    const { clients: C, layers: L } = this;
    const x = new Array<number>(this.nVar).fill(0);
    const idx = Array.from({ length: L }, (_, l) => l);
    for (let i = 0; i < C; i++) {
      const k = rng.int(this.budgets[i] + 1);
      rng.shuffle(idx);
      for (let t = 0; t < k; t++) x[i * L + idx[t]] = 1;
    }
    return x;
  }

  /**
   * Repair (documented rule): values are rounded to 0/1; a client over budget drops its
   * lowest-score selected layers (ties: higher index first) until it is within budget.
   * Deterministic, so it needs no randomness; the importance lost is the least possible.
   */
  repair(x: number[]): number[] {
    const { clients: C, layers: L } = this;
    for (let j = 0; j < x.length; j++) x[j] = x[j] >= 0.5 ? 1 : 0;
    for (let i = 0; i < C; i++) {
      const base = i * L;
      let count = 0;
      for (let l = 0; l < L; l++) count += x[base + l];
      const ord = this.order[i];
      for (let r = L - 1; r >= 0 && count > this.budgets[i]; r--) {
        if (x[base + ord[r]] === 1) {
          x[base + ord[r]] = 0;
          count--;
        }
      }
    }
    return x;
  }

  isFeasible(x: readonly number[]): boolean {
    if (x.length !== this.nVar) return false;
    for (let i = 0; i < this.clients; i++) {
      let count = 0;
      for (let l = 0; l < this.layers; l++) {
        const v = x[i * this.layers + l];
        if (v !== 0 && v !== 1) return false;
        count += v;
      }
      if (count > this.budgets[i]) return false;
    }
    return true;
  }

  /**
   * Seeds: (a) greedy top-B_i per client (the max-importance end of the front, = client-only
   * LNTK); (b) for every layer cap c = 1..C, greedy by descending score under "each layer at
   * most c clients" (spread-out masks of high importance); (c) balanced round-robin masks, where
   * clients in turn take their best layer among the least-used ones, for per-client counts
   * ceil(t * B_i) with t in {1, 3/4, 1/2, 1/4} and for a common count k = 1..max B. Together they
   * put points near both ends and along the middle of the front before any search starts.
   * With many clients the caps are thinned to at most `MAX_CAP_SEEDS` values spread over
   * 1..(largest layer count of the uncapped greedy): caps above it repeat the uncapped mask, and
   * one greedy per cap 1..C was O(C^2 L log) work (2 s for 1,000 x 6), far more seeds than an
   * initial population takes anyway. The greedy is first, so a cut-short start has it.
   */
  seeds(rng: Rng): number[][] {
    const out: number[][] = [];
    const full = this.budgets.slice();
    const top = this.cappedGreedy(full, this.clients);
    out.push(top);
    for (const c of this.capValues(top)) out.push(this.cappedGreedy(full, c));
    for (const t of [1, 0.75, 0.5, 0.25]) {
      out.push(
        this.roundRobin(
          this.budgets.map((b) => Math.max(1, Math.ceil(t * b))),
          rng,
        ),
      );
    }
    const maxB = Math.max(...this.budgets);
    for (let k = 1; k <= maxB; k++)
      out.push(
        this.roundRobin(
          this.budgets.map((b) => Math.min(b, k)),
          rng,
        ),
      );
    return out;
  }

  /** Caps for the capped-greedy seeds: 1..C-1 for small C, else a spread of distinct values. */
  private capValues(top: readonly number[]): number[] {
    const C = this.clients;
    const maxCount = Math.max(...countsOf(top, C, this.layers));
    const hi = Math.min(C - 1, maxCount);
    if (hi <= MAX_CAP_SEEDS) return Array.from({ length: Math.max(0, hi) }, (_, k) => k + 1);
    const caps = new Set<number>();
    for (let k = 0; k < MAX_CAP_SEEDS; k++)
      caps.add(1 + Math.round((k * (hi - 1)) / (MAX_CAP_SEEDS - 1)));
    return [...caps];
  }

  /** (client, layer) cells by descending score (ties by client, then layer), computed once. */
  private cellsByScore(): Int32Array {
    if (this.sortedCells) return this.sortedCells;
    const { clients: C, layers: L } = this;
    const flat = new Float64Array(C * L);
    for (let i = 0; i < C; i++) for (let l = 0; l < L; l++) flat[i * L + l] = this.scores[i][l];
    const cells = Int32Array.from({ length: C * L }, (_, j) => j);
    // Index order i * L + l breaks ties by client, then layer.
    cells.sort((a, b) => flat[b] - flat[a] || a - b);
    this.sortedCells = cells;
    return cells;
  }

  private cappedGreedy(counts: readonly number[], cap: number): number[] {
    const { clients: C, layers: L } = this;
    const x = new Array<number>(this.nVar).fill(0);
    const used = new Array<number>(C).fill(0);
    const n = new Array<number>(L).fill(0);
    for (const cell of this.cellsByScore()) {
      const i = (cell / L) | 0;
      const l = cell - i * L;
      if (used[i] < counts[i] && n[l] < cap) {
        x[i * L + l] = 1;
        used[i]++;
        n[l]++;
      }
    }
    return x;
  }

  private roundRobin(counts: readonly number[], rng: Rng): number[] {
    const { clients: C, layers: L } = this;
    const x = new Array<number>(this.nVar).fill(0);
    const used = new Array<number>(C).fill(0);
    const n = new Array<number>(L).fill(0);
    const clientsOrder = rng.shuffle(Array.from({ length: C }, (_, i) => i));
    let progress = true;
    while (progress) {
      progress = false;
      for (const i of clientsOrder) {
        if (used[i] >= counts[i]) continue;
        let best = -1;
        for (const l of this.order[i]) {
          if (x[i * L + l] === 1) continue;
          if (best === -1 || n[l] < n[best]) best = l;
        }
        if (best === -1) continue;
        x[i * L + best] = 1;
        used[i]++;
        n[best]++;
        progress = true;
      }
    }
    return x;
  }

  /**
   * One feasible local move on a random client i, drawn with `moveWeights`:
   * - add / drop: take one more unselected layer (if under budget) / give one up;
   * - balance: swap i's most-used selected layer for its least-used unselected one (lowers V);
   * - importance: swap i's lowest-score selected layer for a better unselected one (raises I);
   * - exchange: i moves a -> b while another client j moves b -> a, j chosen for the largest
   *   importance gain; every layer count n_l stays the same, so V is unchanged and I can rise —
   *   the move that polishes a point of the front at a fixed balance;
   * - swap: random selected -> random unselected layer.
   * Moves that do not apply (e.g. add at full budget) fall back to a swap, add or drop.
   */
  neighbor(x: readonly number[], rng: Rng): number[] {
    const { clients: C, layers: L } = this;
    const y = x.slice();
    const i = rng.int(C);
    const base = i * L;
    const sel: number[] = [];
    const uns: number[] = [];
    for (let l = 0; l < L; l++) (y[base + l] === 1 ? sel : uns).push(l);
    if (sel.length === 0) {
      y[base + uns[rng.int(uns.length)]] = 1;
      return y;
    }
    const w = this.moveWeights;
    const move = rng.roulette([w.add, w.drop, w.balance, w.importance, w.exchange, w.swap]);
    const canAdd = sel.length < this.budgets[i] && uns.length > 0;
    if (move === 0 && canAdd) {
      y[base + uns[rng.int(uns.length)]] = 1;
      return y;
    }
    if (move === 1 || uns.length === 0) {
      y[base + sel[rng.int(sel.length)]] = 0;
      return y;
    }
    if (move === 2) {
      const n = countsOf(y, C, L);
      let hi = sel[0];
      for (const l of sel) if (n[l] > n[hi] || (n[l] === n[hi] && rng.chance(0.5))) hi = l;
      let lo = uns[0];
      for (const l of uns) if (n[l] < n[lo] || (n[l] === n[lo] && rng.chance(0.5))) lo = l;
      y[base + hi] = 0;
      y[base + lo] = 1;
      return y;
    }
    if (move === 3) {
      const row = this.scores[i];
      let worst = sel[0];
      for (const l of sel) if (row[l] < row[worst]) worst = l;
      const better = uns.filter((l) => row[l] > row[worst]);
      if (better.length > 0) {
        y[base + worst] = 0;
        y[base + better[rng.int(better.length)]] = 1;
        return y;
      }
    }
    const a = sel[rng.int(sel.length)];
    const b = uns[rng.int(uns.length)];
    if (move === 4) {
      let bestJ = -1;
      let bestGain = -Infinity;
      for (let j = 0; j < C; j++) {
        if (j === i || y[j * L + b] !== 1 || y[j * L + a] !== 0) continue;
        const gain = this.scores[j][a] - this.scores[j][b];
        if (gain > bestGain) {
          bestGain = gain;
          bestJ = j;
        }
      }
      if (bestJ >= 0) {
        y[bestJ * L + b] = 0;
        y[bestJ * L + a] = 1;
      }
    }
    y[base + a] = 0;
    y[base + b] = 1;
    return y;
  }

  /**
   * Importance polish: the same layer counts n (so the same V), reassigned to clients for the
   * highest I by min-cost flow (assignment.ts). Null when these counts were polished before
   * (`seen`) or x is already optimal for them, or when `shouldStop` aborted the flow (then the
   * counts are not marked as seen).
   */
  improve(x: readonly number[], seen: Set<string>, shouldStop?: () => boolean): number[] | null {
    const n = countsOf(x, this.clients, this.layers);
    const key = n.join(',');
    if (seen.has(key)) return null;
    const masks = bestAssignmentForCounts(this.scores, this.budgets, n, shouldStop);
    if (!masks && shouldStop?.()) return null;
    seen.add(key);
    if (!masks) return null;
    const y = masks.flat();
    return this.evaluate(y)[0] < this.evaluate(x)[0] - 1e-12 ? y : null;
  }

  /** Flat decision vector -> clients x layers masks. */
  toMasks(x: readonly number[]): number[][] {
    return Array.from(
      { length: this.clients },
      (_, i) => x.slice(i * this.layers, (i + 1) * this.layers) as number[],
    );
  }

  /** Masks -> flat decision vector. */
  fromMasks(masks: readonly (readonly number[])[]): number[] {
    return masks.flat();
  }
}

/**
 * V = (1/L) sum_l (n_l - mean(n))^2 (population variance of the layer counts), computed as
 * (L * sum n^2 - (sum n)^2) / L^2 from integer sums: masks whose counts are a permutation of
 * each other get bit-identical V. (The textbook two-pass form differs in the last ulp with the
 * summation order, which made equal-variance masks look mutually non-dominated.)
 */
export function varianceOfCounts(n: readonly number[]): number {
  const L = n.length;
  let s = 0;
  let s2 = 0;
  for (let l = 0; l < L; l++) {
    s += n[l];
    s2 += n[l] * n[l];
  }
  return (L * s2 - s * s) / (L * L);
}

function countsOf(x: readonly number[], C: number, L: number): number[] {
  const n = new Array<number>(L).fill(0);
  for (let i = 0; i < C; i++) for (let l = 0; l < L; l++) n[l] += x[i * L + l];
  return n;
}

/** Importance and variance of masks, recomputed from scratch (for reports and tests). */
export function selectionObjectives(
  scores: readonly (readonly number[])[],
  masks: readonly (readonly number[])[],
): { importance: number; variance: number } {
  const L = scores[0].length;
  const n = new Array<number>(L).fill(0);
  let importance = 0;
  masks.forEach((row, i) =>
    row.forEach((m, l) => {
      if (m === 1) {
        importance += scores[i][l];
        n[l]++;
      }
    }),
  );
  return { importance, variance: varianceOfCounts(n) };
}
