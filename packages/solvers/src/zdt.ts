import type { Problem } from './problem.js';
import type { Rng } from './rng.js';

/**
 * ZDT1-3 (Zitzler, Deb, Thiele 2000), 30 variables in [0, 1], two objectives. Used to validate
 * the algorithms against known hypervolumes (docs/method.md §2 sanity anchors).
 */
export type ZdtName = 'zdt1' | 'zdt2' | 'zdt3';

export function zdt(name: ZdtName, nVar = 30): Problem {
  if (!Number.isInteger(nVar) || nVar < 2)
    throw new Error(`nVar: expected an integer >= 2, got ${nVar}`);
  const h = {
    zdt1: (f1: number, g: number) => 1 - Math.sqrt(f1 / g),
    zdt2: (f1: number, g: number) => 1 - (f1 / g) ** 2,
    zdt3: (f1: number, g: number) => 1 - Math.sqrt(f1 / g) - (f1 / g) * Math.sin(10 * Math.PI * f1),
  }[name];
  if (!h) throw new Error(`name: unknown ZDT problem "${String(name)}"`);
  return {
    name,
    kind: 'real',
    nVar,
    nObj: 2,
    lower: new Array<number>(nVar).fill(0),
    upper: new Array<number>(nVar).fill(1),
    evaluate(x: readonly number[]): number[] {
      const f1 = x[0];
      let s = 0;
      for (let j = 1; j < nVar; j++) s += x[j];
      const g = 1 + (9 * s) / (nVar - 1);
      return [f1, g * h(f1, g)];
    },
    sample(rng: Rng): number[] {
      const x = new Array<number>(nVar);
      for (let j = 0; j < nVar; j++) x[j] = rng.next();
      return x;
    },
  };
}
