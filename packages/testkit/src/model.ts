// The tiny base model as the coordinator would serve it (int8 frozen base + seeded adapters
// and head), made in Node for tests that run without a coordinator.
import { createModel, saveModel } from '@focus-fl/core/model';
import { answerVocabulary } from '@focus-fl/core/data';

export function tinyCheckpoint(seed = 7): Uint8Array {
  const model = createModel('tiny', { seed, answers: answerVocabulary() });
  try {
    return saveModel(model);
  } finally {
    model.dispose();
  }
}
