import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@focus-fl/core/node';
import { resolveConfig } from '../src/config.js';
import { simulate } from '../src/simulate.js';
import { globalParams, modelSourceFromConfig } from '../src/model-source.js';
import { loadModel } from '@focus-fl/core/model';
import { answerVocabulary } from '@focus-fl/core/data';

// The real model (tiny preset), real LNTK, training and evaluation on synthetic clients,
// through the real ws protocol. Kept small: 4 clients x 3 rounds, few local steps.
beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('model source', () => {
  it('a site loading the served base holds exactly the initial global weights', () => {
    const src = modelSourceFromConfig({ preset: 'tiny', modelSeed: 2 });
    const site = loadModel(src.baseBytes!);
    expect(site.answers).toEqual(answerVocabulary());
    const g = globalParams(site);
    expect(Object.keys(g).sort()).toEqual(Object.keys(src.initialGlobal).sort());
    for (const [k, v] of Object.entries(src.initialGlobal)) {
      expect(Buffer.from(g[k].data.buffer).equals(Buffer.from(v.data.buffer))).toBe(true);
    }
    expect(src.layers).toEqual(site.layerNames());
    site.dispose();
  });
});

describe('simulate (real tiny model)', () => {
  it('4 clients, 3 rounds of f3ocus: global held-out accuracy rises; JSON shape', async () => {
    const res = await simulate({
      clients: 4,
      seed: 3,
      budget: 2,
      floor: 80,
      scale: 0,
      maxTest: 40,
      config: resolveConfig({
        strategy: 'f3ocus',
        rounds: 3,
        steps: 6,
        batchSize: 16,
        lr: 3e-3,
        // The pre-recipe local training (AdamW, no mask, FedAvg): this test is about the
        // protocol and the JSON shape; bench/references.bench.ts measures the recipe.
        localOptimizer: 'adamw',
        answerMask: 'none',
        serverOptimizer: { name: 'fedavg' },
        codec: 'fp16',
        minClients: 4,
        minCompletionRate: 1,
        quorumGraceMs: 0,
        solverMaxMs: 300,
        seed: 3,
        modelSeed: 3,
      }),
    });
    expect(res.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    const base = res.final.baseAccuracy!;
    expect(res.final.accuracy).toBe(res.rounds[2].accuracy);
    expect(res.final.accuracy!).toBeGreaterThan(base + 0.05);
    for (const r of res.rounds) {
      expect(Object.keys(r.perClient).sort()).toEqual(
        ['chest_xray', 'colon_pathology', 'dermatoscope', 'oct'].sort(),
      );
      for (const layers of Object.values(r.selection)) expect(layers.length).toBeLessThanOrEqual(2);
      expect(r.bytesUp).toBeGreaterThan(0);
      expect(r.bytesDown).toBeGreaterThan(0);
    }
    expect(res.bytesUp).toBeGreaterThanOrEqual(res.rounds.reduce((a, r) => a + r.bytesUp, 0));
  }, 240_000);
});
