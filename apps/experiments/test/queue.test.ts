// experiments/micro.json (2 settings x 2 strategies x 2 seeds, 2 rounds) in-process and
// through a real redis-server with 2 BullMQ workers, one of them SIGKILLed mid-run: the same
// results.jsonl content (timings aside), nothing lost, nothing twice; reruns skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandRuns, loadSpec } from '../src/spec.js';
import { keyOfLine, readResults, type ResultLine } from '../src/results.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { TSX_LOADER } from '../src/tsx-loader.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'apps/experiments/src/cli.ts');
const SPEC = join(ROOT, 'experiments/micro.json');
const TSX = TSX_LOADER;

/** Every process the test starts; afterAll kills those still running (e.g. after a timeout). */
const procs: ChildProcess[] = [];

function cli(args: string[]): ChildProcess {
  const p = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  return p;
}

async function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = cli(args);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((r) => p.once('exit', r));
  return { code, stdout, stderr };
}

/**
 * A result line without its timings. Wall-clock ms are the legitimate differences between two
 * executions of the same run, and they also reach bytesUp: each site's scores and update
 * messages carry their elapsed `ms`, which msgpack writes in 1, 3 or 5 bytes by value. So
 * bytesUp is compared separately, within 2 messages x 4 bytes per site and round.
 */
function comparable(l: ResultLine): unknown {
  return {
    ...l,
    elapsedMs: 0,
    rounds: l.rounds.map((r) => ({ ...r, trainMs: 0, bytesUp: 0 })),
  };
}
const byKey = (lines: ResultLine[]) =>
  Object.fromEntries(lines.map((l) => [keyOfLine(l), comparable(l)]));

function expectBytesUpClose(a: ResultLine[], b: ResultLine[]): void {
  const other = new Map(b.map((l) => [keyOfLine(l), l]));
  for (const l of a) {
    l.rounds.forEach((r, i) => {
      const o = other.get(keyOfLine(l))!.rounds[i];
      const sites = Object.keys(r.perClient).length;
      expect(
        Math.abs(r.bytesUp - o.bytesUp),
        `${keyOfLine(l)} round ${r.round}`,
      ).toBeLessThanOrEqual(8 * sites);
    });
  }
}

let redis: RedisServer;
let tmp: string;

beforeAll(async () => {
  redis = await startRedis();
  tmp = mkdtempSync(join(tmpdir(), 'focus-fl-exp-test-'));
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await redis?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function startWorker(): { proc: ChildProcess; runs: string[] } {
  const proc = cli(['worker', '--queue', redis.url, '--lock-ms', '3000', '--stalled-ms', '1000']);

  const runs: string[] = [];
  let buf = '';
  proc.stderr!.on('data', (b: Buffer) => {
    buf += b.toString();
    for (const m of buf.matchAll(/: run (\S+) \(job/g)) if (!runs.includes(m[1])) runs.push(m[1]);
  });
  return { proc, runs };
}

describe('experiment run: in-process vs BullMQ on a real Redis', () => {
  it('same results with 2 workers, one SIGKILLed mid-run; reruns skip finished runs', async () => {
    const keys = expandRuns(loadSpec(SPEC))
      .map((t) => t.key)
      .sort();
    expect(keys).toHaveLength(8);

    const local = join(tmp, 'local');
    const a = await runCli(['run', '--spec', SPEC, '--out', local, '--workers', '2', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ total: 8, skipped: 0, done: 8, failed: [] });
    const localLines = readResults(local);
    expect(localLines.map(keyOfLine).sort()).toEqual(keys);

    // Queue: two workers; the first is SIGKILLed as soon as it starts a run, a third joins.
    const w1 = startWorker();
    const w2 = startWorker();
    const queued = join(tmp, 'queued');
    const queuedRun = ['run', '--spec', SPEC, '--out', queued, '--queue', redis.url];
    const producer = runCli([...queuedRun, '--workers', '0', '--json']);
    let killedKey = '';
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (w1.runs.length > 0) {
          clearInterval(poll);
          killedKey = w1.runs[0];
          w1.proc.kill('SIGKILL');
          resolve();
        } else if (Date.now() - t0 > 90_000) {
          clearInterval(poll);
          reject(new Error('worker 1 never started a run'));
        }
      }, 50);
    });
    const w3 = startWorker();
    const b = await producer;
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ total: 8, skipped: 0, done: 8, failed: [] });
    const queuedLines = readResults(queued);
    // nothing lost, nothing twice
    expect(queuedLines.map(keyOfLine).sort()).toEqual(keys);
    // the killed worker's run was taken over by a live worker
    expect([...w2.runs, ...w3.runs]).toContain(killedKey);
    expect(byKey(queuedLines)).toEqual(byKey(localLines));
    expectBytesUpClose(queuedLines, localLines);

    // reruns skip: nothing to do, files unchanged
    const again = await runCli([...queuedRun, '--workers', '0', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 8, skipped: 8, done: 0 });
    const againLocal = await runCli(['run', '--spec', SPEC, '--out', local, '--json']);
    expect(JSON.parse(againLocal.stdout)).toMatchObject({ total: 8, skipped: 8, done: 0 });
    expect(readResults(queued)).toEqual(queuedLines);
    expect(readResults(local)).toEqual(localLines);
  }, 900_000);
});
