import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LayerSelectionProblem, selectionObjectives, dominates } from '../src/index.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'packages/solvers/src/cli.ts');
const example = join(root, 'packages/solvers/examples/example-problem.json');

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function solveCli(args: string[]): Promise<Out> {
  try {
    const { stdout, stderr } = await run(tsx, [cli, ...args], { cwd: root, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}

let dir = '';
function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'solvers-cli-'));
});

describe('solve CLI', () => {
  it('prints one JSON object with a feasible, consistent front (every algorithm)', async () => {
    const input = JSON.parse((await import('node:fs')).readFileSync(example, 'utf8')) as {
      scores: number[][];
      budgets: number[];
    };
    const problem = new LayerSelectionProblem(input);
    const outs = await Promise.all(
      (['nsga2', 'mopso', 'abc', 'aco', 'sa'] as const).map((algo) =>
        solveCli([
          '--problem',
          example,
          '--algo',
          algo,
          '--seed',
          '3',
          '--json',
          '--max-evals',
          '3000',
        ]),
      ),
    );
    for (const [k, out] of outs.entries()) {
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout.trim().split('\n')).toHaveLength(1);
      const r = JSON.parse(out.stdout) as {
        algorithm: string;
        front: { masks: number[][]; importance: number; variance: number }[];
        selected: number;
        evaluations: number;
        elapsedMs: number;
      };
      expect(r.algorithm).toBe(['nsga2', 'mopso', 'abc', 'aco', 'sa'][k]);
      expect(Object.keys(r).sort()).toEqual([
        'algorithm',
        'elapsedMs',
        'evaluations',
        'front',
        'selected',
      ]);
      expect(r.front.length).toBeGreaterThan(1);
      expect(Number.isInteger(r.selected) && r.selected >= 0 && r.selected < r.front.length).toBe(
        true,
      );
      expect(r.evaluations).toBeGreaterThanOrEqual(3000);
      expect(r.elapsedMs).toBeGreaterThan(0);
      for (const p of r.front) {
        expect(problem.isFeasible(problem.fromMasks(p.masks))).toBe(true);
        const o = selectionObjectives(input.scores, p.masks);
        expect(p.importance).toBeCloseTo(o.importance, 12);
        expect(p.variance).toBeCloseTo(o.variance, 12);
      }
      const objs = r.front.map((p) => [-p.importance, p.variance]);
      for (const a of objs) for (const b of objs) expect(dominates(a, b)).toBe(false);
    }
  });

  it('is reproducible for a seed and prints a readable table without --json', async () => {
    const viaPnpm = run(
      'pnpm',
      [
        '--silent',
        'solve',
        '--problem',
        example,
        '--algo',
        'nsga2',
        '--seed',
        '5',
        '--json',
        '--max-evals',
        '2000',
      ],
      {
        cwd: root,
        timeout: 60_000,
      },
    ).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }));
    const [a, b, t] = await Promise.all([
      viaPnpm,
      solveCli([
        '--problem',
        example,
        '--algo',
        'nsga2',
        '--seed',
        '5',
        '--json',
        '--max-evals',
        '2000',
      ]),
      solveCli([
        '--problem',
        example,
        '--algo',
        'aco',
        '--seed',
        '5',
        '--max-evals',
        '2000',
        '--pick',
        'ideal',
      ]),
    ]);
    const strip = (s: string): unknown => ({ ...(JSON.parse(s) as object), elapsedMs: 0 });
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^aco: \d+ Pareto-optimal selections, \d+ evaluations/);
    expect(t.stdout).toContain('importance  variance');
    expect(t.stdout).toMatch(/selected #\d+:\n {2}client 0: layers /);
  });

  it('rejects bad input with a non-zero exit and one line naming the field', async () => {
    const good = {
      scores: [
        [0.5, 0.5],
        [0.25, 0.75],
      ],
      budgets: [1, 2],
    };
    const cases: [string, string[], string][] = [
      [
        'ragged',
        [
          '--problem',
          file('ragged.json', JSON.stringify({ scores: [[0.5, 0.5], [1]], budgets: [1, 1] })),
        ],
        'scores[1]: has 1 entries',
      ],
      [
        'negative',
        ['--problem', file('neg.json', JSON.stringify({ scores: [[1.5, -0.5]], budgets: [1] }))],
        'scores[0][1]: negative value',
      ],
      [
        'row sum',
        [
          '--problem',
          file(
            'sum.json',
            JSON.stringify({
              scores: [
                [0.5, 0.5],
                [0.5, 0.43],
              ],
              budgets: [1, 1],
            }),
          ),
        ],
        'scores[1]: row sums to 0.93, expected 1 within 1e-6',
      ],
      [
        'budget range',
        ['--problem', file('b.json', JSON.stringify({ ...good, budgets: [1, 3] }))],
        'budgets[1]: expected an integer in 1..2, got 3',
      ],
      [
        'budget count',
        ['--problem', file('bc.json', JSON.stringify({ ...good, budgets: [1] }))],
        'budgets: has 1 entries, expected 2',
      ],
      [
        'unknown algorithm',
        ['--problem', example, '--algo', 'tabu'],
        '--algo: unknown algorithm "tabu"',
      ],
      ['missing file', ['--problem', join(dir, 'nope.json')], '--problem: cannot read'],
      ['invalid JSON', ['--problem', file('bad.json', '{"scores": [[0.5, 0.5]')], '--problem: "'],
      ['bad seed', ['--problem', example, '--seed', 'x'], '--seed: expected an integer'],
      ['unknown flag', ['--problem', example, '--fast'], '--fast: unknown option'],
      ['missing --problem', ['--algo', 'sa'], '--problem: missing'],
    ];
    const outs = await Promise.all(cases.map(([, args]) => solveCli([...args, '--json'])));
    outs.forEach((out, k) => {
      const [name, , msg] = cases[k];
      expect(out.code, name).not.toBe(0);
      expect(out.stdout, name).toBe('');
      const lines = out.stderr.trimEnd().split('\n');
      expect(lines, name).toHaveLength(1);
      expect(lines[0], name).toContain(msg);
    });
  });
});
