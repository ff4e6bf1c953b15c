/**
 * What the coordinator needs of the model: the adapter layer names, the initial global params
 * (adapters + head; the coordinator never runs the model) and the frozen base checkpoint it
 * serves to sites (int8, safetensors).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basePaths, BASE_PRESETS } from '@focus-fl/core/node';
import { answerVocabulary } from '@focus-fl/core/data';
import { createModel, loadModel, PRESETS, saveModel, type VqaModel } from '@focus-fl/core/model';
import { HEAD_LAYER, layerOf, type NamedArrays } from '@focus-fl/core/tensors';
import type { FederationConfig } from './config.js';

export interface ModelSource {
  layers: string[];
  initialGlobal: NamedArrays;
  /** The base checkpoint served at /model/base.safetensors (null: not available). */
  baseBytes: Uint8Array | null;
}

/** The global (federated) part of a model: every adapter layer's params and the head. */
export function globalParams(model: VqaModel): NamedArrays {
  const layers = new Set([...model.layerNames(), HEAD_LAYER]);
  return model.getParams(model.paramNames().filter((n) => layers.has(layerOf(n))));
}

/**
 * From the checkpoint file the config names; else, for the tiny and small presets, the
 * committed pretrained base (packages/core/assets/<preset>-base.safetensors) when present;
 * else the preset
 * freshly created with modelSeed. A head whose answers are not the VQA answer vocabulary (a
 * pretraining task's head) is re-initialised on it. The served base is the int8 checkpoint of
 * the whole model, so a site that loads it starts from exactly the coordinator's initial
 * global weights.
 */
export function modelSourceFromConfig(
  config: Pick<FederationConfig, 'preset' | 'checkpoint' | 'modelSeed'>,
): ModelSource {
  let model: VqaModel;
  if (config.checkpoint) {
    model = loadModel(new Uint8Array(readFileSync(config.checkpoint)));
  } else if (
    (BASE_PRESETS as readonly string[]).includes(config.preset) &&
    existsSync(basePaths(config.preset).checkpoint)
  ) {
    model = loadModel(new Uint8Array(readFileSync(basePaths(config.preset).checkpoint)));
  } else {
    if (!Object.hasOwn(PRESETS, config.preset)) {
      throw new Error(
        `preset: unknown model preset "${config.preset}"; valid: ${Object.keys(PRESETS).join(', ')}`,
      );
    }
    model = createModel(config.preset as keyof typeof PRESETS, {
      seed: config.modelSeed,
      answers: answerVocabulary(),
      weights: 'int8',
    });
  }
  const vocab = answerVocabulary();
  if (model.answers.join('\n') !== vocab.join('\n')) model.resetHead(vocab, config.modelSeed);
  try {
    const baseBytes = saveModel(model, { quantize: 'int8' });
    // Global weights as a site sees them after loading the int8 checkpoint (trainable params
    // are stored fp32 there, so these equal the model's own).
    return { layers: model.layerNames(), initialGlobal: globalParams(model), baseBytes };
  } finally {
    model.dispose();
  }
}
