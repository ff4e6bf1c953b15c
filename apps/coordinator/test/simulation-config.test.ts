import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../src/config.js';
import { STRATEGY_NAMES } from '@focus-fl/core/federated';
import { createPlanner } from '../src/planner.js';
import { simulationConfig } from '../src/simulate.js';

describe('simulationConfig', () => {
  it('seeds model and federation, waits for every client, keeps defaults elsewhere', () => {
    const c = simulationConfig(4, 7, { strategy: 'lntk', rounds: 2 });
    expect(c).toMatchObject({ seed: 7, modelSeed: 7, strategy: 'lntk', rounds: 2 });
    expect(c).toMatchObject({ minClients: 4, minCompletionRate: 1, quorumGraceMs: 0 });
    expect(c.steps).toBe(DEFAULT_CONFIG.steps);
    expect(c.lr).toBe(DEFAULT_CONFIG.lr);
    expect(c.batchSize).toBe(DEFAULT_CONFIG.batchSize);
  });

  it('undefined overrides fall back to the defaults; a bad value names its field', () => {
    expect(simulationConfig(2, 0, { steps: undefined }).steps).toBe(DEFAULT_CONFIG.steps);
    expect(() => simulationConfig(2, 0, { lr: 0 })).toThrow(/\/lr/);
  });

  it('accepts every registry strategy and the old `fd` name (a stable interface)', () => {
    for (const strategy of [...STRATEGY_NAMES, 'fd'] as const)
      expect(simulationConfig(2, 0, { strategy }).strategy).toBe(strategy);
    expect(createPlanner(simulationConfig(2, 0, { strategy: 'fd' })).name).toBe('random');
    expect(() => simulationConfig(2, 0, { strategy: 'nope' as never })).toThrow(/\/strategy/);
  });
});
