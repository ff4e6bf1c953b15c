/**
 * Sweep progress: runs done, running and left, with an ETA, as a cli-progress bar on a
 * terminal; elsewhere (CI logs, --json) one plain line per finished run on stderr.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressCounts {
  done: number;
  running: number;
  failed: number;
  total: number;
}

export class Progress {
  private bar: SingleBar | null = null;
  private readonly started = Date.now();
  private counts: ProgressCounts;

  constructor(
    total: number,
    private readonly skipped: number,
    opts: { tty?: boolean } = {},
  ) {
    this.counts = { done: 0, running: 0, failed: 0, total };
    if (opts.tty ?? process.stderr.isTTY) {
      this.bar = new SingleBar({
        format:
          '{bar} {percentage}% | done {value}/{total} | running {running} | left {left} | failed {failed} | ETA {eta_formatted} | {last}',
        etaBuffer: 20,
        hideCursor: true,
        stream: process.stderr,
      });
      this.bar.start(total, 0, this.payload(''));
    } else {
      process.stderr.write(
        `experiment: ${total} runs to do, ${skipped} already in results.jsonl\n`,
      );
    }
  }

  private payload(last: string) {
    const c = this.counts;
    return { running: c.running, left: c.total - c.done - c.failed, failed: c.failed, last };
  }

  update(patch: Partial<ProgressCounts>, last = ''): void {
    const before = this.counts.done + this.counts.failed;
    this.counts = { ...this.counts, ...patch };
    const c = this.counts;
    if (this.bar) {
      this.bar.update(c.done + c.failed, this.payload(last));
    } else if (c.done + c.failed > before) {
      const finished = c.done + c.failed;
      const perRun = (Date.now() - this.started) / finished;
      const eta = Math.round((perRun * (c.total - finished)) / 1000);
      process.stderr.write(
        `[${finished}/${c.total}] done ${c.done} running ${c.running} left ${c.total - finished} failed ${c.failed} ETA ${eta}s ${last}\n`,
      );
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
