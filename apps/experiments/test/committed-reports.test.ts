// The committed sweep reports (experiments/results/table1, table1-main, table2, head-only, headline) are
// what `pnpm experiment report DIR` makes of their results.jsonl: regenerated from a copy of the
// inputs (results.jsonl, run-notes.jsonl, spec.json, notes.md), every committed report file
// must come out byte-identical. A report edited by hand, or results appended without
// regenerating, fail.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../src/report/report.js';

const RESULTS = fileURLToPath(new URL('../../../experiments/results/', import.meta.url));
const INPUTS = ['results.jsonl', 'run-notes.jsonl', 'spec.json', 'notes.md'];

describe('committed reports', () => {
  for (const name of ['table1', 'table1-main', 'table2', 'head-only', 'headline']) {
    const dir = join(RESULTS, name);
    it.skipIf(!existsSync(join(dir, 'results.jsonl')))(
      `${name}: regenerating from results.jsonl reproduces report.md and the figures`,
      async () => {
        const tmp = mkdtempSync(join(tmpdir(), `exp-${name}-`));
        try {
          for (const f of INPUTS)
            if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(tmp, f));
          const files = await writeReport(tmp);
          expect(files).toContain('report.md');
          for (const f of files) {
            expect(existsSync(join(dir, f)), `${name}/${f} is not committed`).toBe(true);
            const same = readFileSync(join(tmp, f), 'utf8') === readFileSync(join(dir, f), 'utf8');
            expect(same, `${name}/${f} differs from its regeneration`).toBe(true);
          }
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      },
      120_000,
    );
  }
});
