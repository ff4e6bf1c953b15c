// Core data types of the Ultra-MedVQA task (docs/method.md §5), shared by training, the simulator
// and the browser worker. Browser-safe: plain objects and typed arrays only.

/** Ultra-MedVQA question types (docs/method.md §5: diagnosis 39%, anatomy 20%, tissue 20%,
 * modality 10%, other attributes 10%, grading 1%). */
export type QuestionType = 'diagnosis' | 'anatomy' | 'tissue' | 'modality' | 'other' | 'grading';

export const QUESTION_TYPES: readonly QuestionType[] = [
  'diagnosis',
  'anatomy',
  'tissue',
  'modality',
  'other',
  'grading',
];

/** One (image, question, answer) triplet. */
export interface VqaSample {
  /** Row-major pixels, `size * size * channels` bytes (HWC for RGB). */
  image: Uint8Array;
  /** Side length in pixels (MedMNIST: 28, 64, 128 or 224). */
  size: number;
  channels: 1 | 3;
  question: string;
  /** Lowercase answer; always an entry of `answerVocabulary()`. */
  answer: string;
  questionType: QuestionType;
}

/** A client's local data after the 80/20 split (docs/method.md §5). */
export interface ClientData {
  train: VqaSample[];
  test: VqaSample[];
}

/**
 * One split of a MedMNIST subset in the layout of the official .npz files: `images` is
 * N x S x S (gray) or N x S x S x 3 uint8, row-major; `labels` is N x `labelWidth`
 * (1 for multi-class, 14 for ChestMNIST's multi-label findings).
 */
export interface MedMnistArrays {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  size: number;
  channels: 1 | 3;
  labelWidth: number;
}
