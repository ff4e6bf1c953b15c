export interface BenchResult {
  /** File name under bench/results (without .json). */
  name: string;
  /** One row per measured configuration; printed with console.table. */
  rows: Record<string, unknown>[];
  /** Plain-language findings, targets met or missed and why. */
  notes?: string[];
}
