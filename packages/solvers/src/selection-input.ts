/**
 * The selection problem's input, `{scores: number[][], budgets: number[]}` (docs/interfaces.md),
 * and its validation. Every error is one line naming the field and the problem, e.g.
 * `scores[2]: row sums to 0.93, expected 1 within 1e-6`.
 */
export interface SelectionInput {
  /** clients x layers, non-negative, each row sums to 1 (docs/method.md §1, per-client LNTK). */
  scores: number[][];
  /** Per-client layer budget L_i,max, an integer in 1..L. */
  budgets: number[];
}

export class SelectionInputError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'SelectionInputError';
  }
}

/** Tolerance on row sums; the error message spells it 1e-6. */
export const ROW_SUM_TOLERANCE = 1e-6;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? v.slice(0, 20) + '...' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Validate parsed JSON and return a typed copy, or throw `SelectionInputError`. */
export function validateSelectionInput(json: unknown): SelectionInput {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SelectionInputError(
      'input',
      `expected a JSON object with "scores" and "budgets", got ${describe(json)}`,
    );
  }
  const obj = json as Record<string, unknown>;
  const rawScores = obj.scores;
  if (rawScores === undefined)
    throw new SelectionInputError('scores', 'missing (expected clients x layers array of numbers)');
  if (!Array.isArray(rawScores) || rawScores.length === 0) {
    throw new SelectionInputError(
      'scores',
      `expected a non-empty array of rows, got ${describe(rawScores)}`,
    );
  }
  let nLayers = -1;
  const scores: number[][] = [];
  rawScores.forEach((row: unknown, i: number) => {
    if (!Array.isArray(row) || row.length === 0) {
      throw new SelectionInputError(
        `scores[${i}]`,
        `expected a non-empty array of numbers, got ${describe(row)}`,
      );
    }
    if (nLayers === -1) nLayers = row.length;
    else if (row.length !== nLayers) {
      throw new SelectionInputError(
        `scores[${i}]`,
        `has ${row.length} entries, expected ${nLayers} like scores[0] (ragged rows)`,
      );
    }
    let sum = 0;
    const out: number[] = [];
    row.forEach((v: unknown, l: number) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new SelectionInputError(
          `scores[${i}][${l}]`,
          `expected a finite number, got ${describe(v)}`,
        );
      }
      if (v < 0)
        throw new SelectionInputError(
          `scores[${i}][${l}]`,
          `negative value ${v}, scores must be >= 0`,
        );
      sum += v;
      out.push(v);
    });
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      throw new SelectionInputError(
        `scores[${i}]`,
        `row sums to ${formatSum(sum)}, expected 1 within 1e-6`,
      );
    }
    scores.push(out);
  });
  const rawBudgets = obj.budgets;
  if (rawBudgets === undefined)
    throw new SelectionInputError(
      'budgets',
      `missing (expected ${scores.length} integers, one per client)`,
    );
  if (!Array.isArray(rawBudgets)) {
    throw new SelectionInputError(
      'budgets',
      `expected an array of ${scores.length} integers, got ${describe(rawBudgets)}`,
    );
  }
  if (rawBudgets.length !== scores.length) {
    throw new SelectionInputError(
      'budgets',
      `has ${rawBudgets.length} entries, expected ${scores.length} (one per row of scores)`,
    );
  }
  const budgets = rawBudgets.map((b: unknown, i: number) => {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > nLayers) {
      throw new SelectionInputError(
        `budgets[${i}]`,
        `expected an integer in 1..${nLayers}, got ${describe(b)}`,
      );
    }
    return b;
  });
  return { scores, budgets };
}

function formatSum(s: number): string {
  const r = Number(s.toPrecision(6));
  return r === 1 ? s.toPrecision(12) : String(r);
}
