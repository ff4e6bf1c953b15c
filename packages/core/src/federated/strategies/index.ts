/**
 * Strategy registry: `createStrategy(name, opts)` for the coordinator's config and the
 * simulator's --strategy flag; `strategyScoreMethod(name)` tells which scores to request.
 */
import type { ScoreMethod } from '../protocol.js';
import type { Strategy } from '../strategy.js';
import { CLIENT_SCORED, ClientTopBStrategy, type ClientScoredMethod } from './client-only.js';
import { F3ocusStrategy, type F3ocusOptions } from './f3ocus.js';
import { FullStrategy, LastStrategy, RandomStrategy } from './fixed.js';
import { FedRaStrategy } from './fedra.js';
import { RegularizedSelectionStrategy } from './regularized-selection.js';

export { BaseStrategy } from './base.js';
export { CLIENT_SCORED, ClientTopBStrategy, type ClientScoredMethod } from './client-only.js';
export {
  F3ocusStrategy,
  type F3ocusOptions,
  type SelectionSolver,
  type SelectionSolverOptions,
} from './f3ocus.js';
export { FullStrategy, LastStrategy, RandomStrategy } from './fixed.js';
export { FedRaStrategy, randomAllocation } from './fedra.js';
export {
  RegularizedSelectionStrategy,
  regularizedObjective,
  regularizedSelection,
} from './regularized-selection.js';

export const STRATEGY_NAMES = [
  'f3ocus',
  'full',
  'random',
  'fd',
  'last',
  ...CLIENT_SCORED,
  'fedra',
  'sun',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export type StrategyOptions = F3ocusOptions;

export function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && (STRATEGY_NAMES as readonly string[]).includes(name);
}

export function createStrategy(name: string, opts: StrategyOptions = {}): Strategy {
  if (!isStrategyName(name)) {
    throw new Error(`unknown strategy "${name}"; valid strategies: ${STRATEGY_NAMES.join(', ')}`);
  }
  switch (name) {
    case 'f3ocus':
      return new F3ocusStrategy(opts);
    case 'full':
      return new FullStrategy();
    case 'last':
      return new LastStrategy();
    case 'fedra':
      return new FedRaStrategy();
    case 'sun':
      return new RegularizedSelectionStrategy();
    case 'random':
    case 'fd':
      return new RandomStrategy(name);
    default:
      return new ClientTopBStrategy(name satisfies ClientScoredMethod);
  }
}

/** The scores a strategy needs from clients ('none' = none), without constructing it. */
export function strategyScoreMethod(name: string): ScoreMethod {
  return createStrategy(name).scoreMethod;
}
