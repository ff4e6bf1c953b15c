/**
 * `pnpm --silent solve --problem FILE.json --algo nsga2|mopso|abc|aco|sa --seed N --json`
 * (stable interface). Reads {"scores": number[][], "budgets": number[]} and prints one
 * JSON object {algorithm, front: [{masks, importance, variance}], selected, evaluations,
 * elapsedMs}; without --json a readable table. Optional: --max-evals N (default 20,000 when no
 * --time-ms is given, so a seed reproduces the output), --time-ms T, --pick knee|ideal|weighted.
 * Any bad input exits with code 2 and one line on stderr naming the field and the problem.
 */
import { readFileSync } from 'node:fs';
import { ALGORITHMS, isAlgorithmName, type AlgorithmName } from './solve.js';
import { DEFAULT_PICK_RULE, PICK_RULES, type PickRule } from './pickers.js';
import { solveSelection, type SelectionResult } from './selection.js';
import { validateSelectionInput } from './selection-input.js';
import { DEFAULT_MAX_EVALUATIONS } from './algorithm.js';

export class CliError extends Error {}

export interface CliArgs {
  problem: string;
  algo: AlgorithmName;
  seed: number;
  json: boolean;
  maxEvaluations?: number;
  maxTimeMs?: number;
  pick: PickRule;
}

const USAGE =
  `usage: solve --problem FILE.json --algo ${ALGORITHMS.join('|')} --seed N [--json] ` +
  `[--max-evals N] [--time-ms T] [--pick ${PICK_RULES.join('|')}]`;

export function parseArgs(argv: readonly string[]): CliArgs {
  const values = new Map<string, string>();
  let json = false;
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--') continue;
    if (a === '--json') {
      json = true;
      continue;
    }
    if (a === '--help' || a === '-h') throw new CliError(USAGE);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!['--problem', '--algo', '--seed', '--max-evals', '--time-ms', '--pick'].includes(name)) {
      throw new CliError(`${a}: unknown option (${USAGE})`);
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++k];
    if (v === undefined || v.startsWith('--')) throw new CliError(`${name}: missing value`);
    values.set(name, v);
  }
  const problem = values.get('--problem');
  if (!problem)
    throw new CliError('--problem: missing (path to a JSON file with "scores" and "budgets")');
  const algo = values.get('--algo') ?? 'nsga2';
  if (!isAlgorithmName(algo)) {
    throw new CliError(
      `--algo: unknown algorithm "${algo}", expected one of ${ALGORITHMS.join(', ')}`,
    );
  }
  const seed = intArg(values, '--seed', 1, 0);
  const pick = values.get('--pick') ?? DEFAULT_PICK_RULE;
  if (!(PICK_RULES as readonly string[]).includes(pick)) {
    throw new CliError(`--pick: unknown rule "${pick}", expected one of ${PICK_RULES.join(', ')}`);
  }
  const maxTimeMs = values.has('--time-ms') ? numArg(values, '--time-ms') : undefined;
  const maxEvaluations = values.has('--max-evals')
    ? intArg(values, '--max-evals', 0, 1)
    : maxTimeMs === undefined
      ? DEFAULT_MAX_EVALUATIONS
      : undefined;
  return { problem, algo, seed, json, maxEvaluations, maxTimeMs, pick: pick as PickRule };
}

function intArg(values: Map<string, string>, name: string, dflt: number, min: number): number {
  const raw = values.get(name);
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min) {
    throw new CliError(`${name}: expected an integer >= ${min}, got "${raw}"`);
  }
  return v;
}

function numArg(values: Map<string, string>, name: string): number {
  const raw = values.get(name)!;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0)
    throw new CliError(`${name}: expected a positive number, got "${raw}"`);
  return v;
}

export function readProblemFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new CliError(`--problem: cannot read "${path}" (${code})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CliError(`--problem: "${path}" is not valid JSON (${oneLine((e as Error).message)})`);
  }
}

/** Readable table of the front, the chosen point marked, then its layers per client. */
export function formatTable(r: SelectionResult): string {
  const lines: string[] = [];
  lines.push(
    `${r.algorithm}: ${r.front.length} Pareto-optimal selections, ${r.evaluations} evaluations, ${r.elapsedMs.toFixed(0)} ms`,
  );
  lines.push('   #  importance  variance  layers per client');
  r.front.forEach((p, k) => {
    const counts = p.masks.map((m) => m.reduce((s, v) => s + v, 0)).join(' ');
    const mark = k === r.selected ? '*' : ' ';
    lines.push(
      `${mark}${String(k).padStart(3)}  ${p.importance.toFixed(6).padStart(10)}  ${p.variance.toFixed(4).padStart(8)}  ${counts}`,
    );
  });
  const chosen = r.front[r.selected];
  if (chosen) {
    lines.push(`selected #${r.selected}:`);
    chosen.masks.forEach((m, i) => {
      const layers = m.flatMap((v, l) => (v === 1 ? [l] : []));
      lines.push(`  client ${i}: layers ${layers.length > 0 ? layers.join(', ') : '(none)'}`);
    });
  }
  return lines.join('\n');
}

export function main(argv: readonly string[]): number {
  try {
    const args = parseArgs(argv);
    const input = validateSelectionInput(readProblemFile(args.problem));
    const result = solveSelection(input, {
      algo: args.algo,
      seed: args.seed,
      maxEvaluations: args.maxEvaluations,
      maxTimeMs: args.maxTimeMs,
      pick: args.pick,
    });
    // The stable JSON shape (packages/solvers/README.md): exactly these fields.
    const { algorithm, front, selected, evaluations, elapsedMs } = result;
    const stable = { algorithm, front, selected, evaluations, elapsedMs };
    process.stdout.write(args.json ? JSON.stringify(stable) + '\n' : formatTable(result) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`error: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
    return 2;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

process.exitCode = main(process.argv.slice(2));
