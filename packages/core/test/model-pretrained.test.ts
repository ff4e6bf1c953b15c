import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, PRESETS, readSafetensors } from '../src/model/index.js';
import { basePaths, initNodeBackend, readBase, type BasePreset } from '../src/node/index.js';
import {
  evaluate,
  PRETRAIN_QUESTION_TYPES,
  shapesBaselines,
  SHAPES_ANSWERS,
  SHAPES_QUESTION_TYPES,
  shapesTask,
} from '../src/train/index.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

interface Report {
  seed: number;
  preset: string;
  cpuSeconds: number;
  perType: Record<string, { fp32: number; int8: number; chance: number; majority: number }>;
}

// The committed bases (scripts/pretrain.ts): `tiny` (6 blocks, unit tests and e2e) and
// `small` (12 blocks, the paper's depth).
describe.each(['tiny', 'small'] as BasePreset[])('committed %s base', (preset) => {
  const bytes = readBase(preset);
  const report = JSON.parse(readFileSync(basePaths(preset).report, 'utf8')) as Report;

  it('is a few MB, int8 at rest, with no adapters and the pretraining head', () => {
    expect(bytes.length).toBeLessThan(6e6);
    const f = readSafetensors(bytes);
    expect(f.tensors['block0/q_kernel'].dtype).toBe('I8');
    expect(f.tensors['block0/q_kernel:scale'].dtype).toBe('F32');
    expect(f.tensors['text_embed/word'].dtype).toBe('I8');
    expect(Object.keys(f.tensors).some((n) => n.includes('.adapter/'))).toBe(false);
    expect(JSON.parse(f.metadata.answers)).toEqual(SHAPES_ANSWERS);
    const m = loadModel(bytes, { seed: 1 });
    expect(m.config.numLayers).toBe(PRESETS[preset].numLayers);
    expect(m.config.hidden).toBe(PRESETS[preset].hidden);
    m.dispose();
    expect(report.preset).toBe(preset);
    expect(report.cpuSeconds).toBeGreaterThan(0);
    // The eight held-out types, and the stepping-stone types where the recipe asked them.
    const types = Object.keys(report.perType);
    for (const t of SHAPES_QUESTION_TYPES) expect(types).toContain(t);
    for (const t of types) expect(PRETRAIN_QUESTION_TYPES as readonly string[]).toContain(t);
    // int8 within 1 point of fp32 on every type (the acceptance of the bases).
    for (const [t, v] of Object.entries(report.perType))
      expect(Math.abs(v.fp32 - v.int8), t).toBeLessThanOrEqual(0.01 + 1e-9);
  });

  it('answers every question type of a held-out set at >= 85 %', async () => {
    // A seed the pretraining never used (it trains on step seeds of `seed`, reports on
    // `seed + 1000003`).
    const test = shapesTask(400, report.seed + 77);
    const m = loadModel(bytes, { seed: 1 });
    const r = await evaluate(m, test);
    m.dispose();
    const base = shapesBaselines(shapesTask(2000, report.seed + 5), test);
    for (const type of SHAPES_QUESTION_TYPES) {
      const acc = r.perType[type].accuracy;
      expect(acc, type).toBeGreaterThanOrEqual(0.85);
      // Far above what the question alone gives (its type's majority answer).
      expect(acc - base[type].majority, type).toBeGreaterThan(0.3);
    }
  }, 120_000);
});
