// The tiny base model as the coordinator would serve it (int8 frozen base + seeded adapters
// and head), made in Node for tests that run without a coordinator.
import * as tf from '@tensorflow/tfjs';
import { createModel, saveModel } from '@focus-fl/core/model';
import { answerVocabulary } from '@focus-fl/core/data';

/**
 * A process that has not chosen a tfjs backend would get the highest-priority registered one,
 * wasm (core's model imports it), which initialises asynchronously and so cannot serve this
 * synchronous call: such a process gets cpu, which initialises synchronously (the bytes are
 * the same on every backend: the weights are made on the host).
 */
function ensureBackend(): void {
  if (tf.engine().backendName) return;
  void tf.setBackend('cpu');
}

export function tinyCheckpoint(seed = 7): Uint8Array {
  ensureBackend();
  const model = createModel('tiny', { seed, answers: answerVocabulary() });
  try {
    return saveModel(model);
  } finally {
    model.dispose();
  }
}
