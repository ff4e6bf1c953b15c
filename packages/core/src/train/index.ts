// Public API of core/train (docs/interfaces.md).
export * from './adamw.js';
export * from './loss.js';
export * from './grads.js';
export * from './train.js';
export * from './step-batches.js';
export * from './speed.js';
export * from './local-recipe.js';
export {
  MASKED_LOGIT,
  AnswerMask,
  answerMaskBias,
  restrictHeadDeltas,
  answersByQuestionType,
  type MaskableSample,
} from './answer-mask.js';
export * from './evaluate.js';
export * from './evaluate-source.js';
export * from './batches.js';
export * from './shapes-task.js';
export * from './pretrain.js';
export * from './grow.js';
export * from './probe.js';
export * from './softmax-classifier.js';
export * from './image-stats.js';
export * from './memory-budget.js';
