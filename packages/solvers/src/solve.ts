import type { Algorithm, AlgorithmResult, CommonOptions } from './algorithm.js';
import { Abc, type AbcOptions } from './algorithms/abc.js';
import { Aco, type AcoOptions } from './algorithms/aco.js';
import { Mopso, type MopsoOptions } from './algorithms/mopso.js';
import { Nsga2, type Nsga2Options } from './algorithms/nsga2.js';
import { Sa, type SaOptions } from './algorithms/sa.js';
import type { Problem } from './problem.js';

/** The five meta-heuristics of F3OCUS (docs/method.md §2). */
export const ALGORITHMS = ['nsga2', 'mopso', 'abc', 'aco', 'sa'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];

export interface AlgorithmOptionsMap {
  nsga2: Nsga2Options;
  mopso: MopsoOptions;
  abc: AbcOptions;
  aco: AcoOptions;
  sa: SaOptions;
}

export function isAlgorithmName(name: string): name is AlgorithmName {
  return (ALGORITHMS as readonly string[]).includes(name);
}

/** Step API: `const run = createAlgorithm('nsga2', p, {seed}); while (!run.done()) run.step();` */
export function createAlgorithm<N extends AlgorithmName>(
  name: N,
  problem: Problem,
  opts: AlgorithmOptionsMap[N] = {},
): Algorithm {
  switch (name as AlgorithmName) {
    case 'nsga2':
      return new Nsga2(problem, opts);
    case 'mopso':
      return new Mopso(problem, opts);
    case 'abc':
      return new Abc(problem, opts);
    case 'aco':
      return new Aco(problem, opts);
    case 'sa':
      return new Sa(problem, opts);
    default:
      throw new Error(
        `algo: unknown algorithm "${String(name)}", expected one of ${ALGORITHMS.join(', ')}`,
      );
  }
}

export interface SolveOptions extends CommonOptions {
  algo?: AlgorithmName;
  /** Algorithm-specific options (popSize, ...). */
  params?: Record<string, unknown>;
}

/** One-shot run: create, step until a budget is spent, return the result (default nsga2). */
export function solve(problem: Problem, opts: SolveOptions = {}): AlgorithmResult {
  const { algo = 'nsga2', params = {}, ...common } = opts;
  if (!isAlgorithmName(algo))
    throw new Error(
      `algo: unknown algorithm "${String(algo)}", expected one of ${ALGORITHMS.join(', ')}`,
    );
  const run = createAlgorithm(algo, problem, { ...params, ...common });
  while (!run.done()) run.step();
  return run.result();
}
