/**
 * `pnpm experiment <command>` (stable interface):
 *   run --spec experiments/<name>.json --out DIR [--queue redis://HOST:PORT] [--workers N] [--json]
 *   worker --queue redis://HOST:PORT [--concurrency K] [--lock-ms MS] [--stalled-ms MS]
 *   report DIR
 * `run` does every run of the spec's grid not yet in DIR/results.jsonl: in N local run
 * processes (default 1), or with --queue as BullMQ jobs taken by `worker`s (N local workers
 * are started too; --workers 0 leaves them all to other machines). With --json it prints one
 * summary object: {"out","total","skipped","done","failed":[{"key","error"}],"elapsedMs"}.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLocal, type RunEvents } from './local.js';
import { Progress } from './progress.js';
import { parseRedisUrl, runOnQueue, startWorker } from './queue.js';
import { writeReport } from './report/report.js';
import { appendNotes, appendResult, keyOfLine, readResults } from './results.js';
import { DEFAULT_TIMEOUT_MS, expandRuns, loadSpec, type Spec } from './spec.js';
import { TSX_LOADER } from './tsx-loader.js';

class UsageError extends Error {}

const HERE = dirname(fileURLToPath(import.meta.url));

const USAGE = `usage:
  pnpm experiment run --spec experiments/<name>.json --out DIR [--queue redis://HOST:PORT] [--workers N] [--json]
  pnpm experiment worker --queue redis://HOST:PORT [--concurrency K]
  pnpm experiment report DIR`;

function intFlag(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return x;
}

/** The spec a DIR was started with must be the spec a rerun uses (else results would mix). */
function checkSpecFile(out: string, spec: Spec): void {
  const path = join(out, 'spec.json');
  const { name: _n, description: _d, ...grid } = spec;
  if (existsSync(path)) {
    const before = JSON.parse(readFileSync(path, 'utf8')) as Spec;
    const { name: _n2, description: _d2, ...gridBefore } = before;
    // Adding settings, strategies or seeds extends the grid; anything else changes every run.
    const shared = (s: Omit<Spec, 'name' | 'description'>) => {
      const { settings: _s, strategies: _st, seeds: _se, algos: _a, headline: _h, ...rest } = s;
      return JSON.stringify(rest);
    };
    if (shared(grid) !== shared(gridBefore)) {
      throw new UsageError(
        `${path} was written by a spec with other run parameters (rounds, steps, preset, budgets, ...); use another --out or delete that directory`,
      );
    }
    for (const [k, v] of Object.entries(gridBefore.settings)) {
      if (grid.settings[k] && JSON.stringify(grid.settings[k]) !== JSON.stringify(v))
        throw new UsageError(
          `${path}: setting "${k}" changed since the first run; use another --out`,
        );
    }
  }
  writeFileSync(path, JSON.stringify(spec, null, 2) + '\n');
}

/**
 * The commit the runs are made with (recorded per run in DIR/run-notes.jsonl): HEAD of the
 * checkout this command runs from, "-dirty" if tracked files differ from it; "unknown"
 * outside a git checkout.
 */
function sourceCommit(): string {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: HERE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const head = git(['rev-parse', '--short=12', 'HEAD']).trim();
    const dirty = git(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

async function cmdRun(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      spec: { type: 'string' },
      out: { type: 'string' },
      queue: { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.spec) throw new UsageError('run: --spec FILE is required');
  if (!values.out) throw new UsageError('run: --out DIR is required');
  const spec = loadSpec(values.spec);
  const connection = values.queue ? parseRedisUrl(values.queue) : null;
  const workers = intFlag('workers', values.workers, 1, connection ? 0 : 1);
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  checkSpecFile(out, spec);

  const started = Date.now();
  const commit = sourceCommit();
  const existing = readResults(out);
  const known = new Set(existing.map(keyOfLine));
  const all = expandRuns(spec);
  const todo = all.filter((t) => !known.has(t.key));
  const failed: { key: string; error: string }[] = [];
  let done = 0;
  let running = 0;
  const progress = new Progress(todo.length, all.length - todo.length, {
    tty: values.json ? false : undefined,
  });
  const events: RunEvents = {
    started: () => progress.update({ running: ++running }),
    finished: (task, { line, notes }) => {
      if (appendResult(out, line, known)) appendNotes(out, task.key, { ...notes, commit });
      running = Math.max(0, running - 1);
      progress.update({ done: ++done, running }, `${task.key} ${fmtAcc(line.final.accuracy)}`);
    },
    failed: (task, error) => {
      failed.push({ key: task.key, error });
      running = Math.max(0, running - 1);
      progress.update({ failed: failed.length, running }, `${task.key} FAILED: ${error}`);
    },
  };
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const localWorkers: ChildProcess[] = [];
  try {
    if (connection) {
      for (let i = 0; i < workers; i++) localWorkers.push(spawnWorker(values.queue!));
      await runOnQueue(todo, { connection, timeoutMs }, events);
    } else {
      await runLocal(todo, workers, timeoutMs, events);
    }
  } finally {
    progress.stop();
    for (const w of localWorkers) w.kill('SIGTERM');
  }
  const summary = {
    out,
    total: all.length,
    skipped: all.length - todo.length,
    done,
    failed,
    elapsedMs: Date.now() - started,
  };
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stderr.write(
      `experiment: ${done} runs done, ${summary.skipped} skipped, ${failed.length} failed -> ${join(out, 'results.jsonl')}\n`,
    );
    for (const f of failed) process.stderr.write(`  failed ${f.key}: ${f.error}\n`);
  }
  if (failed.length > 0) process.exitCode = 2;
}

const fmtAcc = (a: number | null) => (a == null ? '-' : `${(100 * a).toFixed(1)}%`);

/** A `worker` process of this CLI (the `run` command's local workers in --queue mode). */
function spawnWorker(url: string): ChildProcess {
  const cli = fileURLToPath(import.meta.url);
  return spawn(process.execPath, ['--import', TSX_LOADER, cli, 'worker', '--queue', url], {
    // An IPC channel only so that the worker notices when this process goes away (Ctrl-C).
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

async function cmdWorker(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      'lock-ms': { type: 'string' },
      'stalled-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.queue) throw new UsageError('worker: --queue redis://HOST:PORT is required');
  const w = await startWorker({
    connection: parseRedisUrl(values.queue),
    concurrency: intFlag('concurrency', values.concurrency, 1, 1),
    timeoutMs: DEFAULT_TIMEOUT_MS,
    lockMs: intFlag('lock-ms', values['lock-ms'], 30_000, 1000),
    stalledMs: intFlag('stalled-ms', values['stalled-ms'], 15_000, 500),
    log: values.quiet ? undefined : (l) => process.stderr.write(`worker ${process.pid}: ${l}\n`),
  });
  process.stderr.write(`worker ${process.pid}: waiting for jobs on ${values.queue}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Started by `run --queue --workers N`: stop with it.
    if (process.send) process.once('disconnect', stop);
  });
  await w.close();
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'run':
      return cmdRun(rest);
    case 'worker':
      return cmdWorker(rest);
    case 'report': {
      const dir = rest.find((a) => !a.startsWith('--'));
      if (!dir) throw new UsageError('report: DIR is required');
      const files = await writeReport(resolve(dir));
      process.stderr.write(`experiment: wrote ${files.join(', ')}\n`);
      return;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`experiment: ${msg}\n${e instanceof UsageError ? USAGE + '\n' : ''}`);
  process.exit(1);
});
