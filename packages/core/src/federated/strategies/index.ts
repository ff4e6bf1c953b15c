/**
 * The strategy registry: the one list of strategy names (`STRATEGY_NAMES`, derived from the
 * factories below) for the coordinator's config, the simulator's --strategy flag and tests.
 * A new strategy is one line in `FACTORIES`.
 */
import type { ScoreMethod } from '../protocol.js';
import type { Strategy } from '../strategy.js';
import { CLIENT_SCORED, ClientTopBStrategy, type ClientScoredMethod } from './client-only.js';
import { F3ocusStrategy, type F3ocusOptions } from './f3ocus.js';
import { DataFreeStrategy, FullStrategy } from './fixed.js';
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
export { DataFreeStrategy, FullStrategy } from './fixed.js';
export { FedRaStrategy, randomAllocation } from './fedra.js';
export {
  RegularizedSelectionStrategy,
  regularizedObjective,
  regularizedSelection,
} from './regularized-selection.js';

export type StrategyOptions = F3ocusOptions;
type Factory = (opts: StrategyOptions) => Strategy;

const clientScored = Object.fromEntries(
  CLIENT_SCORED.map((m) => [m, () => new ClientTopBStrategy(m)]),
) as unknown as Record<ClientScoredMethod, Factory>;

const FACTORIES = {
  f3ocus: (opts) => new F3ocusStrategy(opts),
  full: () => new FullStrategy(),
  random: () => new DataFreeStrategy('random'),
  last: () => new DataFreeStrategy('last'),
  ...clientScored,
  fedra: () => new FedRaStrategy(),
  sun: () => new RegularizedSelectionStrategy(),
} satisfies Record<string, Factory>;

export type StrategyName = keyof typeof FACTORIES;
export const STRATEGY_NAMES = Object.keys(FACTORIES) as StrategyName[];

/**
 * Old names still accepted where a stable interface (config files, --strategy) needs them:
 * `fd` is the paper's Table 1 row name for `random` (federated dropout).
 */
export const STRATEGY_ALIASES = { fd: 'random' } as const satisfies Record<string, StrategyName>;
export type StrategyAlias = keyof typeof STRATEGY_ALIASES;

/** Every name `createStrategy` accepts: the registry plus the aliases. */
export const ACCEPTED_STRATEGY_NAMES = [
  ...STRATEGY_NAMES,
  ...(Object.keys(STRATEGY_ALIASES) as StrategyAlias[]),
] as const;

export function isStrategyName(name: unknown): name is StrategyName | StrategyAlias {
  return typeof name === 'string' && (ACCEPTED_STRATEGY_NAMES as readonly string[]).includes(name);
}

/** The registry name for `name` (an alias maps to its strategy). */
export function canonicalStrategyName(name: StrategyName | StrategyAlias): StrategyName {
  return (STRATEGY_ALIASES as Record<string, StrategyName>)[name] ?? (name as StrategyName);
}

export function createStrategy(name: string, opts: StrategyOptions = {}): Strategy {
  if (!isStrategyName(name)) {
    throw new Error(`unknown strategy "${name}"; valid strategies: ${STRATEGY_NAMES.join(', ')}`);
  }
  return FACTORIES[canonicalStrategyName(name)](opts);
}

/** The scores a strategy needs from clients ('none' = none), without constructing it. */
export function strategyScoreMethod(name: string): ScoreMethod {
  return createStrategy(name).scoreMethod;
}
