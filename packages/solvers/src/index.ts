export { Rng } from './rng.js';
export type { Problem, GroupedBinary, Solution } from './problem.js';
export { clipToBounds, repairOf } from './problem.js';
export {
  LayerSelectionProblem,
  selectionObjectives,
  varianceOfCounts,
  DEFAULT_MOVE_WEIGHTS,
  type MoveWeights,
} from './layer-selection.js';
export { bestAssignmentForCounts } from './assignment.js';
export {
  validateSelectionInput,
  SelectionInputError,
  ROW_SUM_TOLERANCE,
  type SelectionInput,
} from './selection-input.js';
export { zdt, type ZdtName } from './zdt.js';
export {
  dominates,
  fastNonDominatedSort,
  paretoRanks,
  crowdingDistance,
  nonDominatedIndices,
  hypervolume2d,
  normalizedHypervolume,
  normalize,
  bounds,
} from './pareto.js';
export { Archive } from './archive.js';
export { pick, PICK_RULES, DEFAULT_PICK_RULE, type PickRule, type PickOptions } from './pickers.js';
export * from './operators.js';
export {
  BaseAlgorithm,
  DEFAULT_MAX_EVALUATIONS,
  type Algorithm,
  type AlgorithmResult,
  type CommonOptions,
  type Termination,
  type StopReason,
} from './algorithm.js';
export { Nsga2, type Nsga2Options } from './algorithms/nsga2.js';
export { Mopso, type MopsoOptions } from './algorithms/mopso.js';
export { Abc, type AbcOptions } from './algorithms/abc.js';
export { Aco, type AcoOptions } from './algorithms/aco.js';
export { Sa, amountOfDomination, type SaOptions } from './algorithms/sa.js';
export {
  ALGORITHMS,
  createAlgorithm,
  solve,
  isAlgorithmName,
  type AlgorithmName,
  type SolveOptions,
} from './solve.js';
export { solveSelection, type SelectionResult, type SelectionFrontPoint } from './selection.js';
export { randomSelectionInput } from './instances.js';
