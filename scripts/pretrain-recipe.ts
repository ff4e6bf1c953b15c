// The whole pretraining recipe of a base, from its seed, as one command: runs the phases of
// scripts/pretrain.ts in order (each continues from the previous phase's checkpoint; pretrain.ts
// adds the CPU seconds of the checkpoint it starts from to its own), then writes the last
// phase's report with every phase's command, CPU seconds and held-out accuracy per type.
//   pnpm exec tsx scripts/pretrain-recipe.ts --preset tiny|small [--work dir] [--out file]
//     [--from N]   (start at phase N, 1-based, reusing the earlier phases' files in --work)
//     [--dry-run]  (print the phases' commands and stop)
// `small` runs the `tiny` phases first and grows their output to 12 blocks (train/grow.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One pretrain.ts run: its flags, without --init and --out (the runner chains those). */
interface Phase {
  name: string;
  flags: string;
}

// `tiny`: one phase from a fresh seed-1 initialisation, with strong 2-D image positions
// (amplitude 3), the patch-grounding objective and the stepping-stone question types
// (packages/core/src/model/README.md, "Why relation stays at the layout's 50 %"): every question
// type >= 95 % held-out, the committed tiny base (packages/core/assets/tiny-base.json).
// `small` grows a tiny checkpoint to 12 blocks (train/grow.ts) and trains all 12; the default
// --out is <work>/<preset>-candidate.safetensors (<work>: --work, default $TMPDIR/focus-fl-
// pretrain-<preset>); --out packages/core/assets/<preset>-base.safetensors writes over a
// committed base.
const TINY: Phase[] = [
  {
    name: 'tiny-1',
    flags:
      '--preset tiny --steps 2500 --batch 64 --position-amplitude 3 --grounding-weight 1 --binding 1 --seed 1 --test 1200',
  },
];

// `small`: the committed tiny stacked to 12 blocks (each block used twice; the position
// amplitude is in its weights) and all 12 trained with tiny's objectives (grounding, stepping
// stones) at full noise from the start (the tiny already went through the curriculum).
const SMALL: Phase[] = [
  ...TINY,
  {
    name: 'small-1',
    flags:
      '--preset small --steps 1200 --batch 64 --lr 2e-3 --warmup 0.05 --curriculum 0 --grounding-weight 1 --binding 1 --seed 1 --test 1200 --snapshot-every 300',
  },
];

export const RECIPES: Readonly<Record<'tiny' | 'small', readonly Phase[]>> = {
  tiny: TINY,
  small: SMALL,
};

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

const preset = flag('preset') ?? 'tiny';
if (preset !== 'tiny' && preset !== 'small')
  throw new Error(`--preset must be tiny or small, got "${preset}"`);
const work = flag('work') ?? join(tmpdir(), `focus-fl-pretrain-${preset}`);
const out = flag('out') ?? join(work, `${preset}-candidate.safetensors`);
const from = Number(flag('from') ?? 1);
const phases = RECIPES[preset];
if (!Number.isInteger(from) || from < 1 || from > phases.length)
  throw new Error(`--from must be an integer in [1, ${phases.length}], got ${flag('from')}`);
const dryRun = process.argv.includes('--dry-run');
if (!dryRun) mkdirSync(work, { recursive: true });

const file = (k: number) =>
  k === phases.length - 1 ? out : join(work, `${phases[k].name}.safetensors`);
const summaries: Record<string, unknown>[] = [];
for (let k = 0; k < phases.length; k++) {
  const args = [...phases[k].flags.split(' '), '--out', file(k)];
  if (k > 0) args.push('--init', file(k - 1));
  const command = `pnpm exec tsx scripts/pretrain.ts ${args.join(' ')}`;
  if (dryRun) {
    console.log(`${k + 1}. ${command}`);
    continue;
  }
  if (k + 1 >= from) {
    if (k > 0 && !existsSync(file(k - 1)))
      throw new Error(`phase ${phases[k].name}: its input ${file(k - 1)} does not exist`);
    console.log(`[recipe] phase ${k + 1}/${phases.length}: ${command}`);
    const r = spawnSync('pnpm', ['exec', 'tsx', 'scripts/pretrain.ts', ...args], {
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`phase ${phases[k].name} failed (exit ${r.status})`);
  }
  const report = file(k).replace(/\.safetensors$/, '.json');
  const rep = JSON.parse(readFileSync(report, 'utf8')) as {
    cpuSecondsThisRun: number;
    heldOutAccuracyInt8: number;
    perType: Record<string, { int8: number }>;
  };
  summaries.push({
    command,
    cpuSeconds: rep.cpuSecondsThisRun,
    heldOutAccuracyInt8: rep.heldOutAccuracyInt8,
    perTypeInt8: Object.fromEntries(Object.entries(rep.perType).map(([t, v]) => [t, v.int8])),
  });
}
if (dryRun) process.exit(0);
const finalReport = out.replace(/\.safetensors$/, '.json');
const final = JSON.parse(readFileSync(finalReport, 'utf8')) as Record<string, unknown>;
writeFileSync(
  finalReport,
  JSON.stringify(
    {
      ...final,
      recipe: `pnpm exec tsx scripts/pretrain-recipe.ts --preset ${preset}`,
      phases: summaries,
    },
    null,
    2,
  ) + '\n',
);
console.log(`[recipe] ${preset}: ${out} and ${finalReport}`);
