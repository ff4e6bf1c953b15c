// Public API of core/importance: LNTK layer scores (docs/method.md §1) and the baseline layer
// scorers of Table 1 (docs/method.md §4). See ./README.md for the choices made and why.
export type { Differentiable } from './differentiable.js';
export { jacobiEigen, topEigenvalue, type SymmetricEigen } from './eigen.js';
export { hessianVectorProduct } from './hvp.js';
export {
  LNTK_KERNELS,
  kernelVectors,
  lntkOf,
  type LntkKernel,
  type LntkOptions,
  type LntkResult,
} from './lntk.js';
export * from './methods.js';
export { layerScores, type ScorerOptions } from './scorers.js';
export {
  computeLntk,
  fedselectDelta,
  pickIndices,
  pickSamples,
  scoreLayers,
  siteScores,
  vqaDifferentiable,
  type ComputeLntkOptions,
  type ScoreLayersOptions,
  type SiteScoresOptions,
  type ScoredUnit,
  type VqaDifferentiable,
} from './vqa.js';
export { spearman } from './rank.js';
