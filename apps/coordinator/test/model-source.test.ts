import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary } from '@focus-fl/core/data';
import { loadModel } from '@focus-fl/core/model';
import { initNodeBackend, readBase, type BasePreset } from '@focus-fl/core/node';
import { modelSourceFromConfig } from '../src/model-source.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('modelSourceFromConfig', () => {
  it.each([
    ['tiny', 6],
    ['small', 12],
  ])('serves the committed %s base with %i adapter layers and a VQA head', (preset, blocks) => {
    const src = modelSourceFromConfig({ preset, modelSeed: 1 });
    expect(src.layers).toEqual(Array.from({ length: blocks }, (_, i) => `block${i}.adapter`));
    const m = loadModel(src.baseBytes!, { seed: 1 });
    expect(m.config.numLayers).toBe(blocks);
    expect(m.answers).toEqual(answerVocabulary());
    // The served base is the committed pretrained one, not a fresh init.
    const committed = loadModel(readBase(preset as BasePreset), { seed: 1 });
    expect(m.getParams(['pooler/kernel'])['pooler/kernel'].data).toEqual(
      committed.getParams(['pooler/kernel'])['pooler/kernel'].data,
    );
    committed.dispose();
    expect(src.initialGlobal['head/kernel'].shape).toEqual([64, answerVocabulary().length]);
    m.dispose();
  });

  it('names the valid presets for an unknown one', () => {
    expect(() => modelSourceFromConfig({ preset: 'huge', modelSeed: 1 })).toThrow(
      /unknown model preset "huge"; valid: tiny, small, vilt-b32/,
    );
  });
});
