// Names of the local-recipe options (no tfjs import: the wire protocol and the coordinator's
// config validate them without loading a backend).
export const LOCAL_OPTIMIZERS = ['adamw', 'sgdm'] as const;
export type LocalOptimizerName = (typeof LOCAL_OPTIMIZERS)[number];
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];
export const ANSWER_MASKS = ['none', 'question-type', 'site'] as const;
export type AnswerMaskRule = (typeof ANSWER_MASKS)[number];
