// `pnpm simulate --medmnist-dir DIR`: real-format MedMNIST files, partial clients, bad files
// named and skipped.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@focus-fl/core/node';
import { syntheticSubsetArrays, writeMedMnistNpz, type SubsetName } from '@focus-fl/core/data';
import { loadMedMnistDir } from '../src/medmnist-dir.js';
import { simulate, simulationConfig } from '../src/simulate.js';

const npz = (subset: SubsetName, n: number, size = 28): Uint8Array =>
  writeMedMnistNpz({
    train: syntheticSubsetArrays(subset, { seed: 1, count: n, size }),
    val: syntheticSubsetArrays(subset, { seed: 2, count: 4, size }),
    test: syntheticSubsetArrays(subset, { seed: 3, count: 6, size }),
  });

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'focus-fl-medmnist-'));
  writeFileSync(join(dir, 'pneumoniamnist.npz'), npz('pneumoniamnist', 50));
  writeFileSync(join(dir, 'organcmnist_64.npz'), npz('organcmnist', 40, 64));
  writeFileSync(join(dir, 'organsmnist.npz'), Buffer.from('PK\x03\x04 not really a zip'));
  writeFileSync(join(dir, 'mystery.npz'), npz('octmnist', 3));
  writeFileSync(join(dir, 'README.txt'), 'notes');
  return dir;
}

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('loadMedMnistDir', () => {
  it('groups files into partial clients, resizes, and names the bad files', () => {
    const d = loadMedMnistDir(folder(), { seed: 1, size: 28 });
    expect([...d.clients.keys()]).toEqual(['chest_xray', 'abdominal_ct']);
    const chest = d.clients.get('chest_xray')!;
    expect(chest.subsets).toEqual(['pneumoniamnist']);
    expect(chest.missing).toEqual(['chestmnist']);
    expect(chest.train.length + chest.test.length).toBe(60);
    const ct = d.clients.get('abdominal_ct')!;
    expect(ct.subsets).toEqual(['organcmnist']);
    expect([...ct.train, ...ct.test].every((s) => s.size === 28)).toBe(true);
    expect(d.skipped).toHaveLength(2);
    expect(d.skipped.some((l) => l.startsWith('mystery.npz: not a MedMNIST file name'))).toBe(true);
    expect(d.skipped.some((l) => l.startsWith('organsmnist.npz:'))).toBe(true);
  });

  it('fails clearly when nothing is usable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'focus-fl-medmnist-'));
    expect(() => loadMedMnistDir(dir, { seed: 1 })).toThrow(/no usable MedMNIST \.npz files/);
    expect(() => loadMedMnistDir(join(dir, 'nope'), { seed: 1 })).toThrow(/cannot read the folder/);
  });
});

describe('simulate --medmnist-dir', () => {
  it('federates the partial clients found in the folder', async () => {
    const res = await simulate({
      clients: 9,
      seed: 1,
      budget: 2,
      maxTest: 20,
      medmnistDir: folder(),
      config: simulationConfig(9, 1, { rounds: 1, steps: 2, batchSize: 8, solverMaxMs: 200 }),
    });
    expect(res.rounds).toHaveLength(1);
    expect(Object.keys(res.rounds[0].perClient).sort()).toEqual(['abdominal_ct', 'chest_xray']);
  });
});
