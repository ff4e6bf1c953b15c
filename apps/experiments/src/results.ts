/**
 * DIR/results.jsonl: one line per finished run (stable interface):
 *   {"setting","strategy","algo","seed",
 *    "rounds":[{"round","accuracy","perClient","bytesUp","bytesDown","selection","trainMs"}],
 *    "final":{"accuracy","perClient"},"elapsedMs"}
 * Only the process that owns DIR appends (the `run` command), one whole line per write; a run
 * already in the file is never written again (its key: setting/strategy/algo/seed).
 */
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulateRound } from '@focus-fl/coordinator/simulate.js';
import { runKey } from './spec.js';

/** A simulated round (the coordinator's `SimulateRound`) with its local training time. */
export interface RoundLine extends SimulateRound {
  /** Mean per-site local training wall time of the round (ms); null if no site reported it. */
  trainMs: number | null;
}

export interface ResultLine {
  setting: string;
  strategy: string;
  algo: string | null;
  seed: number;
  rounds: RoundLine[];
  final: { accuracy: number | null; perClient: Record<string, number> };
  elapsedMs: number;
}

export const RESULTS_FILE = 'results.jsonl';

export const keyOfLine = (l: ResultLine): string => runKey(l);

/**
 * The lines of DIR/results.jsonl. A last line without its newline (a process killed while
 * appending) is cut off the file, so that run is simply run again; any other bad line is an
 * error naming its line number (the file is not ours to guess about).
 */
export function readResults(dir: string): ResultLine[] {
  const path = join(dir, RESULTS_FILE);
  if (!existsSync(path)) return [];
  let text = readFileSync(path, 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) {
    const cut = text.lastIndexOf('\n') + 1;
    truncateSync(path, Buffer.byteLength(text.slice(0, cut)));
    text = text.slice(0, cut);
  }
  const out: ResultLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const l = v as ResultLine;
    if (typeof l.setting !== 'string' || typeof l.strategy !== 'string' || !Array.isArray(l.rounds))
      throw new Error(`${path}:${i + 1}: not a result line (needs setting, strategy, rounds)`);
    out.push(l);
  });
  return out;
}

/** Appends the result unless its run is already in `known` (then returns false). */
export function appendResult(dir: string, line: ResultLine, known: Set<string>): boolean {
  const key = keyOfLine(line);
  if (known.has(key)) return false;
  appendFileSync(join(dir, RESULTS_FILE), JSON.stringify(line) + '\n');
  known.add(key);
  return true;
}

export const NOTES_FILE = 'run-notes.jsonl';

export interface NotesLine {
  solverFallbacks: number;
  /** The source commit of the `run` command that collected it (`git describe`-like; "-dirty"
   * when the work tree had uncommitted changes); absent in notes written before it existed. */
  commit?: string;
}

/** DIR/run-notes.jsonl: {"key","solverFallbacks","commit"} per run, beside its result line. */
export function appendNotes(dir: string, key: string, notes: NotesLine): void {
  appendFileSync(join(dir, NOTES_FILE), JSON.stringify({ key, ...notes }) + '\n');
}

/** run key -> notes (later lines win; a truncated last line is ignored). */
export function readNotes(dir: string): Map<string, NotesLine> {
  const path = join(dir, NOTES_FILE);
  const out = new Map<string, NotesLine>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as { key: string } & NotesLine;
      out.set(v.key, {
        solverFallbacks: v.solverFallbacks,
        ...(v.commit ? { commit: v.commit } : {}),
      });
    } catch {
      // a line cut by a crash: that run's notes are unknown
    }
  }
  return out;
}
