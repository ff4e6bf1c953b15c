import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, PRESETS, readSafetensors } from '../src/model/index.js';
import { basePaths, initNodeBackend, readBase, type BasePreset } from '../src/node/index.js';
import {
  evaluate,
  shapesBaselines,
  SHAPES_ANSWERS,
  SHAPES_QUESTION_TYPES,
  PRETRAIN_QUESTION_TYPES,
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

/** Types below the 85 % bar in the committed bases: small (stacked from the previous tiny)
 * has relation near what the layout alone gives (the axis: 50 %; small 49 %); tiny has none.
 * See the reports' perType and packages/core/src/model/README.md. */
const BELOW_BAR: Record<BasePreset, readonly string[]> = {
  tiny: [],
  small: ['relation'],
};
/** What the held-out accuracy of those types must still reach (well below the report's). */
const BELOW_BAR_FLOOR: Record<BasePreset, Record<string, number>> = {
  tiny: {},
  small: { relation: 0.4 },
};

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
    // Every question type of the task is reported; a base pretrained with the stepping-stone
    // types (find, attribute) reports those too.
    const reported = Object.keys(report.perType);
    for (const t of SHAPES_QUESTION_TYPES) expect(reported, t).toContain(t);
    for (const t of reported) expect(PRETRAIN_QUESTION_TYPES as readonly string[]).toContain(t);
  });

  it('answers most question types of a held-out set at >= 85 %, the rest as measured', async () => {
    // A seed the pretraining never used (it trains on step seeds of `seed`, reports on
    // `seed + 1000003`).
    const test = shapesTask(400, report.seed + 77);
    const m = loadModel(bytes, { seed: 1 });
    const r = await evaluate(m, test);
    m.dispose();
    const base = shapesBaselines(shapesTask(2000, report.seed + 5), test);
    for (const type of SHAPES_QUESTION_TYPES) {
      const acc = r.perType[type].accuracy;
      if (BELOW_BAR[preset].includes(type)) {
        // See the report's perType and packages/core/src/model/README.md.
        const floor = BELOW_BAR_FLOOR[preset][type] ?? base[type].chance - 0.15;
        expect(acc, type).toBeGreaterThan(floor);
      } else expect(acc, type).toBeGreaterThanOrEqual(0.85);
    }
  }, 120_000);
});
