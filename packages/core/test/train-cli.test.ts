import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/finetune.js';

afterEach(() => vi.restoreAllMocks());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out, err };
}

describe('cli finetune', () => {
  it('unknown client: one-line error listing the valid names, exit 2', async () => {
    const { out, err } = capture();
    expect(await main(['--client', 'lungs', '--json'])).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(
      /unknown client "lungs"; valid clients: chest_xray, oct, colon_pathology, dermatoscope, fundus, ultrasound, blood_microscope, kidney_cortex, abdominal_ct/,
    );
  });

  it('prints the stable JSON and fine-tuning improves held-out accuracy', async () => {
    const { out } = capture();
    expect(
      await main([
        '--client',
        'blood_microscope',
        '--steps',
        '30',
        '--seed',
        '3',
        '--json',
        '--lr',
        '3e-3',
      ]),
    ).toBe(0);
    expect(out).toHaveLength(1);
    const r = JSON.parse(out[0]) as Record<string, unknown>;
    expect(Object.keys(r).sort()).toEqual(
      [
        'backend',
        'baseAccuracy',
        'client',
        'finetunedAccuracy',
        'frozenBytesFp32',
        'frozenBytesInt8',
        'frozenParams',
        'stepsPerSecond',
        'trainableParams',
      ].sort(),
    );
    expect(r.client).toBe('blood_microscope');
    expect(r.backend).toBe('wasm');
    expect(r.finetunedAccuracy as number).toBeGreaterThan((r.baseAccuracy as number) + 0.1);
    expect(r.frozenBytesInt8 as number).toBeLessThan((r.frozenBytesFp32 as number) / 3);
    expect(r.stepsPerSecond as number).toBeGreaterThan(0);
  }, 180_000);
});
