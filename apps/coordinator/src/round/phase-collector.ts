/**
 * Collects one answer per expected site for one phase, until every expected site has answered
 * or been released (left, refused, failed), or the deadline passes. A released site is no
 * longer waited for and its buffered answer, if any, is dropped when it left.
 */
export class PhaseCollector<T> {
  readonly expected: Set<string>;
  readonly got = new Map<string, T>();
  readonly done: Promise<Map<string, T>>;
  private finish!: () => void;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    expected: readonly string[],
    deadlineMs: number,
    onDeadline?: (missing: string[]) => void,
  ) {
    this.expected = new Set(expected);
    this.done = new Promise((resolve) => {
      this.finish = () => {
        if (this.finished) return;
        this.finished = true;
        clearTimeout(this.timer);
        resolve(this.got);
      };
    });
    if (this.expected.size === 0) {
      this.finish();
      return;
    }
    this.timer = setTimeout(() => {
      onDeadline?.([...this.expected].filter((x) => !this.got.has(x)));
      this.finish();
    }, deadlineMs);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Whether `site` is part of this phase and has not answered yet. */
  awaits(site: string): boolean {
    return this.expected.has(site) && !this.got.has(site);
  }

  answer(site: string, value: T): void {
    if (!this.awaits(site)) return;
    this.got.set(site, value);
    this.check();
  }

  /** Stop waiting for `site` (refused or failed); an answer it already gave is kept. */
  release(site: string): void {
    if (!this.awaits(site)) return;
    this.expected.delete(site);
    this.check();
  }

  /** `site` left: stop waiting and drop what it sent (a departed site is never aggregated). */
  drop(site: string): void {
    if (!this.expected.has(site)) return;
    this.expected.delete(site);
    this.got.delete(site);
    this.check();
  }

  /** End now (the engine stops). */
  cancel(): void {
    this.finish();
  }

  private check(): void {
    if (this.got.size >= this.expected.size) this.finish();
  }
}
