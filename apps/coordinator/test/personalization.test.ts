import { describe, expect, it } from 'vitest';
import { validateMessage, type Personalization } from '@focus-fl/core/federated';
import { loadModel } from '@focus-fl/core/model';
import { initNodeBackend } from '@focus-fl/core/node';
import { modelSourceFromConfig } from '../src/model-source.js';
import { DEFAULT_CONFIG, resolveConfig } from '../src/config.js';
import { simulate } from '../src/simulate.js';

describe('personalization in the coordinator config and the round config', () => {
  it('accepts none, finetune, adapters and proximal; refuses anything else by field name', () => {
    for (const p of ['none', 'finetune', 'adapters', 'proximal'] as const)
      expect(resolveConfig({ personalization: p }).personalization).toBe(p);
    expect(resolveConfig({}).personalization).toBe(DEFAULT_CONFIG.personalization);
    expect(() => resolveConfig({ personalization: 'ditto' as never })).toThrow(/personalization/);
  });
});

// The engine end to end (real coordinator, ws protocol, Node sites): under 'finetune' the
// evaluate phase scores each site's own model; before any training it is the global model.
describe("simulate with personalization 'finetune'", () => {
  const run = (personalization: Personalization, proxMu = 0) =>
    simulate({
      clients: 2,
      seed: 5,
      budget: 2,
      floor: 60,
      scale: 0,
      maxTest: 40,
      parallel: 1,
      config: resolveConfig({
        strategy: 'full',
        rounds: 2,
        // Enough local training that a site's own model answers differently from the mean.
        steps: 12,
        batchSize: 8,
        lr: 1e-2,
        personalization,
        proxMu,
        minClients: 2,
        minCompletionRate: 1,
        quorumGraceMs: 0,
        solverMaxMs: 300,
        seed: 5,
        modelSeed: 5,
      }),
    });

  it("same selection and base evaluation; the rounds evaluate the sites' own models", async () => {
    const plain = await run('none');
    const pers = await run('finetune');
    expect(pers.final.baseAccuracy).toBe(plain.final.baseAccuracy);
    // The round-start configs carry the option: msgpack "personalization" (1 + 15 bytes) and
    // "finetune" (1 + 8), in 2 round-starts (scores, evaluate) x 2 sites per round. (The
    // update itself is bit for bit the same: core federated-personalization.test.ts.)
    expect(pers.rounds.map((r) => r.bytesDown - 2 * 2 * 25)).toEqual(
      plain.rounds.map((r) => r.bytesDown),
    );
    expect(pers.rounds.map((r) => r.selection)).toEqual(plain.rounds.map((r) => r.selection));
    // Each site's own model is not the global one: some site's accuracy differs.
    // The global model's accuracy comes beside: exactly the unpersonalised run's (same
    // updates, same global model, same held-out splits).
    expect(plain.rounds.every((r) => r.sharedAccuracy === undefined)).toBe(true);
    expect(pers.rounds.map((r) => r.sharedPerClient)).toEqual(plain.rounds.map((r) => r.perClient));
    expect(pers.rounds.map((r) => r.sharedAccuracy)).toEqual(plain.rounds.map((r) => r.accuracy));
    expect(pers.final.sharedAccuracy).toBe(plain.final.accuracy);
    const differs = pers.rounds.some((r, i) =>
      Object.entries(r.perClient).some(([s, a]) => a !== plain.rounds[i].perClient[s]),
    );
    expect(differs).toBe(true);
  }, 240_000);

  it("'adapters': the rounds complete with updates that carry the head only", async () => {
    const plain = await run('none');
    const pers = await run('adapters');
    expect(pers.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(pers.final.baseAccuracy).toBe(plain.final.baseAccuracy);
    // Up, each of the 2 sites per round leaves out every adapter: at least their fp16 bytes.
    await initNodeBackend('wasm');
    const model = loadModel(modelSourceFromConfig({ preset: 'tiny', modelSeed: 5 }).baseBytes!);
    const adapters = model.getParams(model.layerNames().flatMap((l) => model.paramNames(l)));
    const adapterValues = Object.values(adapters).reduce((a, t) => a + t.data.length, 0);
    model.dispose();
    for (const [i, r] of pers.rounds.entries())
      expect(plain.rounds[i].bytesUp - r.bytesUp).toBeGreaterThanOrEqual(2 * 2 * adapterValues);
  }, 240_000);

  it("'proximal' (μ 0): round 1 sends the plain update; the sites evaluate their own models", async () => {
    const plain = await run('none');
    const pers = await run('proximal');
    // Round 1 starts from the global model with no pull: the same updates, the same global
    // model after it (its accuracy beside the sites' own models).
    expect(pers.rounds[0].sharedAccuracy).toBe(plain.rounds[0].accuracy);
    expect(pers.rounds[0].sharedPerClient).toEqual(plain.rounds[0].perClient);
    // Each site evaluates its own model, which is not the global one (a site's accuracy
    // differs); round 2's update from it is checked value by value in core
    // federated-personalization.test.ts.
    const differs = pers.rounds.some((r) =>
      Object.entries(r.perClient).some(([site, a]) => a !== r.sharedPerClient![site]),
    );
    expect(differs).toBe(true);
    expect(pers.rounds.map((r) => r.round)).toEqual([1, 2]);
  }, 240_000);

  it("the wire accepts 'finetune' in a round config and refuses an unknown mode", () => {
    const msg = (personalization: string) => ({
      type: 'round-start',
      round: 1,
      phase: 'evaluate',
      global: null,
      config: {
        scoreMethod: 'none',
        steps: 1,
        batchSize: 1,
        lr: 0.1,
        weightDecay: 0,
        codec: 'fp32',
        budget: 1,
        seed: 0,
        personalization,
      },
    });
    expect(validateMessage(msg('finetune'))).toMatchObject({
      config: { personalization: 'finetune' },
    });
    expect(() => validateMessage(msg('ditto'))).toThrow(/personalization/);
  });
});
