// The report's statistics against hand-computed values, and a report regenerated from the same
// results.jsonl is byte-identical.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mean, pairedInterval, sd } from '../src/report/stats.js';
import { writeReport } from '../src/report/report.js';
import type { ResultLine } from '../src/results.js';

describe('report statistics', () => {
  it('paired 95 % t-interval: hand-computed case', () => {
    // differences 1..5: mean 3, sd sqrt(2.5) = 1.58114, se = 0.70711; t(0.975, 4) = 2.77645
    // (t table) -> 3 -+ 1.96324; t = 4.2426 on 4 df -> two-sided p = 0.0132.
    const a = new Map([
      [0, 11],
      [1, 12],
      [2, 13],
      [3, 14],
      [4, 15],
      [9, 99],
    ]);
    const b = new Map([
      [0, 10],
      [1, 10],
      [2, 10],
      [3, 10],
      [4, 10],
      [7, 0],
    ]);
    const d = pairedInterval(a, b);
    expect(d.n).toBe(5); // seeds 7 and 9 are unpaired
    expect(d.mean).toBeCloseTo(3, 12);
    expect(d.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(d.lo!).toBeCloseTo(1.03676, 4);
    expect(d.hi!).toBeCloseTo(4.96324, 4);
    expect(d.p!).toBeCloseTo(0.0132, 3);
  });

  it('mean and sample sd; fewer than 2 pairs give no interval', () => {
    expect(mean([2, 4, 9])).toBeCloseTo(5, 12);
    expect(sd([2, 4, 9])).toBeCloseTo(Math.sqrt((9 + 1 + 16) / 2), 12);
    expect(sd([3])).toBe(0);
    const one = pairedInterval(new Map([[0, 0.5]]), new Map([[0, 0.25]]));
    expect(one).toMatchObject({ n: 1, mean: 0.25, lo: null, hi: null });
  });
});

const tmp = mkdtempSync(join(tmpdir(), 'focus-fl-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function line(
  strategy: string,
  algo: string | null,
  seed: number,
  accs: number[],
  layers: string[],
): ResultLine {
  const rounds = accs.map((accuracy, i) => ({
    round: i + 1,
    accuracy,
    perClient: { a: accuracy, b: accuracy },
    bytesUp: 1_000_000 * layers.length,
    bytesDown: 2_000_000,
    selection: { a: layers, b: layers },
    trainMs: 100 + seed,
  }));
  return {
    setting: 't3',
    strategy,
    algo,
    seed,
    rounds,
    final: { accuracy: accs[accs.length - 1], perClient: {} },
    elapsedMs: 1234 + seed,
  };
}

describe('report', () => {
  it('Table 1 cells and paired intervals from the lines; regenerating is byte-identical', async () => {
    const lines = [
      line('f3ocus', 'nsga2', 0, [0.3, 0.5], ['block2.adapter', 'block5.adapter']),
      line('f3ocus', 'nsga2', 1, [0.3, 0.6], ['block3.adapter', 'block5.adapter']),
      line('f3ocus', 'nsga2', 2, [0.3, 0.7], ['block4.adapter', 'block5.adapter']),
      line('lntk', null, 0, [0.3, 0.4], ['block0.adapter', 'block1.adapter']),
      line('lntk', null, 1, [0.3, 0.45], ['block0.adapter', 'block1.adapter']),
      line('lntk', null, 2, [0.3, 0.7], ['block0.adapter', 'block2.adapter']),
    ];
    writeFileSync(
      join(tmp, 'results.jsonl'),
      lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    );
    const files = await writeReport(tmp);
    expect(files).toContain('report.md');
    for (const k of ['accuracy', 'paired', 'tradeoff', 'selection', 'cost'])
      expect(files).toContain(`${k}-t3.svg`);
    const read = () =>
      Object.fromEntries(
        readdirSync(tmp)
          .sort()
          .map((f) => [f, readFileSync(join(tmp, f), 'utf8')]),
      );
    const first = read();
    const md = first['report.md'];
    // f3ocus finals 0.5, 0.6, 0.7: mean 60.0, sd 10.0; lntk 0.4, 0.45, 0.7: mean 51.7, sd 16.1
    expect(md).toContain('| f3ocus:nsga2 | **60.0 ± 10.0 (n=3)** |');
    expect(md).toContain('| lntk | 51.7 ± 16.1 (n=3) |');
    // differences 0.1, 0.15, 0: mean 8.33 points, sd 7.64, t(0.975, 2) = 4.3027 -> +-18.97
    expect(md).toContain('| lntk | +8.3 [−10.6, +27.3] |');
    // backward depth: f3ocus earliest block 2/3/4 -> 4/3/2 blocks; lntk block 0 -> 6
    expect(md).toContain('| f3ocus:nsga2 | 3.00 / 101 |');
    expect(md).toContain('| lntk | 6.00 / 101 |');
    expect(first['selection-t3.svg']).toMatch(/^<svg/);
    await writeReport(tmp);
    const second = read();
    expect(Object.keys(second)).toEqual(Object.keys(first));
    for (const f of Object.keys(first)) expect(second[f] === first[f], `${f} differs`).toBe(true);
  });
});
