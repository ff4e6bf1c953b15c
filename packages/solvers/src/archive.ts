import { crowdingDistance, dominates, sameVector } from './pareto.js';
import type { Solution } from './problem.js';

/**
 * External archive of mutually non-dominated solutions, kept by every algorithm over all the
 * points it evaluates (so no good point found is ever lost). A new point equal in objectives to
 * an archived one is rejected (the front reports distinct objective vectors). When the archive
 * exceeds `capacity`, the most crowded member is dropped repeatedly (crowding distance, as
 * NSGA-II's truncation); boundary points are never dropped.
 */
export class Archive {
  readonly items: Solution[] = [];

  constructor(readonly capacity = 200) {
    if (!Number.isInteger(capacity) || capacity < 2)
      throw new Error(`archiveSize: expected an integer >= 2, got ${capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  /** Insert if not dominated; returns true when the point entered the archive. */
  add(s: Solution): boolean {
    const f = s.f;
    for (const a of this.items) {
      if (dominates(a.f, f) || sameVector(a.f, f)) return false;
    }
    let w = 0;
    for (let r = 0; r < this.items.length; r++) {
      const a = this.items[r];
      if (!dominates(f, a.f)) this.items[w++] = a;
    }
    this.items.length = w;
    this.items.push({ x: s.x.slice(), f: f.slice() });
    if (this.items.length > this.capacity) this.truncate();
    return true;
  }

  /** Is f dominated by (or equal to) an archive member? */
  covers(f: readonly number[]): boolean {
    for (const a of this.items) if (dominates(a.f, f) || sameVector(a.f, f)) return true;
    return false;
  }

  private truncate(): void {
    while (this.items.length > this.capacity) {
      const objs = this.items.map((s) => s.f);
      const cd = crowdingDistance(
        objs,
        objs.map((_, i) => i),
      );
      let worst = 0;
      for (let i = 1; i < cd.length; i++) if (cd[i] < cd[worst]) worst = i;
      this.items.splice(worst, 1);
    }
  }
}
