// The model's answer classes (core data's global vocabulary): imported questions whose answer
// is not one of them cannot be trained on and are reported, not silently relabelled.
import { answerVocabulary } from '@focus-fl/core/data';

let vocab: Set<string> | null = null;

export function inVocabulary(answer: string): boolean {
  vocab ??= new Set(answerVocabulary());
  return vocab.has(answer);
}
