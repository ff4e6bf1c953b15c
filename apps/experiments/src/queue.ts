/**
 * Distributed sweeps on BullMQ (Redis): the `run` command adds one job per run that is not in
 * results.jsonl yet and collects the results; `worker` processes (any number, any machine)
 * take the jobs. Guarantees, and how:
 * - nothing counted twice: a job's id is the hash of its run's full content, so adding it again
 *   (a rerun, a second producer) is a no-op, and results.jsonl gets one line per run key;
 * - nothing lost: a worker that dies mid-run stops renewing its job lock; BullMQ's stalled-job
 *   check moves the job back to waiting and another worker runs it; a run that throws is
 *   retried (`attempts`) and its final failure is reported, not dropped;
 * - resumable: a producer restarted after its workers finished picks up the completed jobs'
 *   return values from Redis.
 */
import { createHash } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { RunExecutor, type RunOutput } from './executor.js';
import type { RunEvents } from './local.js';
import type { RunTask } from './spec.js';

export const QUEUE_NAME = 'focus-fl-experiments';

/** redis://[user:password@]host:port[/db] -> BullMQ connection options. */
export function parseRedisUrl(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue must be a redis://HOST:PORT URL, got "${url}"`);
  }
  if (u.protocol !== 'redis:')
    throw new Error(`--queue must be a redis://HOST:PORT URL, got "${url}"`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue: bad database number in "${url}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port,
    db,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    // BullMQ workers block on Redis; they need unbounded retries per request.
    maxRetriesPerRequest: null,
  };
}

/** Content-addressed job id: the same run (same parameters, data and seed) = the same job. */
export function jobIdOf(task: RunTask): string {
  const h = createHash('sha256').update(JSON.stringify(task)).digest('hex');
  return `run-${h.slice(0, 32)}`;
}

export interface QueueRunOptions {
  connection: ConnectionOptions;
  timeoutMs: number;
  /** Attempts per job for runs that throw (a crashed worker is not an attempt). */
  attempts?: number;
  pollMs?: number;
}

/**
 * Adds the tasks as jobs (or finds them) and waits until each has completed or finally failed.
 */
export async function runOnQueue(
  tasks: readonly RunTask[],
  o: QueueRunOptions,
  events: RunEvents,
): Promise<void> {
  const queue = new Queue(QUEUE_NAME, { connection: o.connection });
  try {
    await queue.waitUntilReady();
    const pending = new Map<string, RunTask>();
    const running = new Set<string>();
    for (const task of tasks) {
      const jobId = jobIdOf(task);
      pending.set(jobId, task);
      const existing = await queue.getJob(jobId);
      if (existing && (await existing.getState()) === 'failed') {
        await existing.retry('failed'); // a rerun retries what failed before
        continue;
      }
      if (!existing) {
        await queue.add(task.key, task, {
          jobId,
          attempts: o.attempts ?? 2,
          backoff: { type: 'fixed', delay: 1000 },
          // Keep results in Redis: a restarted producer collects them from there.
          removeOnComplete: false,
          removeOnFail: false,
        });
      }
    }
    while (pending.size > 0) {
      for (const [jobId, task] of [...pending]) {
        const job = await queue.getJob(jobId);
        if (!job) {
          pending.delete(jobId);
          events.failed(task, `job ${jobId} disappeared from the queue`);
          continue;
        }
        const state = await job.getState();
        if (state === 'active' && !running.has(jobId)) {
          running.add(jobId);
          events.started(task);
        } else if (state === 'completed') {
          pending.delete(jobId);
          running.delete(jobId);
          events.finished(task, job.returnvalue as RunOutput);
        } else if (state === 'failed') {
          pending.delete(jobId);
          running.delete(jobId);
          events.failed(task, job.failedReason || 'failed');
        } else if (state !== 'active' && running.has(jobId)) {
          running.delete(jobId); // stalled and back to waiting (its worker died)
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    await queue.close();
  }
}

export interface WorkerOptions {
  connection: ConnectionOptions;
  concurrency: number;
  timeoutMs: number;
  /** Job lock (ms): a worker that stops renewing it for this long counts as dead. */
  lockMs?: number;
  /** How often the stalled-job check runs (ms). */
  stalledMs?: number;
  log?: (line: string) => void;
}

/** Takes jobs until closed; each job runs in one of `concurrency` run processes. */
export async function startWorker(o: WorkerOptions): Promise<{ close(): Promise<void> }> {
  const free = Array.from({ length: o.concurrency }, () => new RunExecutor());
  const all = [...free];
  const log = o.log ?? (() => {});
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job<RunTask>) => {
      const ex = free.pop();
      if (!ex) throw new Error('no free run process (concurrency accounting bug)');
      log(`run ${job.data.key} (job ${job.id}, attempt ${job.attemptsMade + 1})`);
      try {
        return await ex.run(job.data, job.data.params.timeoutMs ?? o.timeoutMs);
      } finally {
        free.push(ex);
      }
    },
    {
      connection: o.connection,
      concurrency: o.concurrency,
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: o.stalledMs ?? 15_000,
      maxStalledCount: 3,
    },
  );
  worker.on('failed', (job, err) => log(`failed ${job?.data.key}: ${err.message}`));
  worker.on('completed', (job) => log(`done ${job.data.key}`));
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      await Promise.all(all.map((ex) => ex.close()));
    },
  };
}
