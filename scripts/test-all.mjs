// Runs the whole suite (lint, typecheck, unit, e2e) and ends with one summary line
// "tests: N passed, M failed" counted from vitest's JSON reports.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';

const outDir = 'node_modules/.test-results';
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const stages = [
  ['lint', 'pnpm', ['lint']],
  ['typecheck', 'pnpm', ['typecheck']],
  [
    'unit',
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${outDir}/unit.json`,
    ],
  ],
  [
    'e2e',
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--config',
      'e2e/vitest.config.ts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${outDir}/e2e.json`,
    ],
  ],
];

let failedStages = [];
for (const [name, cmd, args] of stages) {
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) failedStages.push(name);
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of ['unit.json', 'e2e.json']) {
  const p = `${outDir}/${f}`;
  if (!existsSync(p)) continue;
  const j = JSON.parse(readFileSync(p, 'utf8'));
  passed += j.numPassedTests ?? 0;
  failed += j.numFailedTests ?? 0;
  skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
}
// A failed stage without counted tests (lint, typecheck, a crash) still counts as a failure.
const stageFailures = failedStages.length > 0 && failed === 0 ? failedStages.length : 0;
if (failedStages.length) console.log(`\nfailed stages: ${failedStages.join(', ')}`);
console.log(`\ntests: ${passed} passed, ${failed + stageFailures} failed, ${skipped} skipped`);
process.exit(failedStages.length ? 1 : 0);
