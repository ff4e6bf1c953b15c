/**
 * The round engine: owns the federation loop and its timeouts (Flower's server loop); the
 * strategy (planner.ts) decides and reduces, the parts below do one job each:
 *
 *   round/sessions.ts        connected sites (one session per site)
 *   round/site-messages.ts   pure checks of scores / updates / evaluations
 *   round/phase-collector.ts one phase's answers, deadline, released and departed sites
 *   round/global-cache.ts    the global weights each site needs, encoded once
 *
 *   waiting (quorum) -> scores -> solve -> train -> aggregate -> evaluate -> next round
 *
 * - A round's cohort is the set of joined sites when it starts; late joiners wait for the next
 *   round (their messages for the current one are refused as stale).
 * - Every phase has a deadline. A phase ends when every cohort member still connected has
 *   answered, or at the deadline. It needs answers from at least
 *   max(minClients, ceil(minCompletionRate * cohort)) sites, else the round is aborted.
 * - An aborted round is stored and retried after a back-off that doubles with every
 *   consecutive abort (abortBackoffMs, capped at MAX_BACKOFF_MS); after maxConsecutiveAborts
 *   in a row the federation pauses (phase 'paused', `pausedReason`) until `resume()`.
 * - A site that leaves loses its buffered contribution for the round (never aggregated).
 * - Global evaluation: the coordinator has no data. After aggregation the new global weights go
 *   to every connected site with phase 'evaluate'; the strategy reduces their held-out reports
 *   to the global accuracy (round 0 = the base model).
 */
import { EventEmitter } from 'node:events';
import { errorMessage, type Narrow, type RoundConfig } from '@focus-fl/core/federated';
import { deriveSeed } from '@focus-fl/core/random';
import { HEAD_LAYER, layerOf, type NamedArrays } from '@focus-fl/core/tensors';
import type { FederationConfig } from './config.js';
import type { Plan, Planner } from './planner.js';
import { GlobalWeightsCache } from './round/global-cache.js';
import { PhaseCollector } from './round/phase-collector.js';
import { SessionRegistry, type SiteSession } from './round/sessions.js';
import {
  checkEvaluation,
  checkScores,
  checkUpdate,
  type CheckedScores,
  type CheckedUpdate,
} from './round/site-messages.js';
import type { EnginePhase } from './dashboard-state.js';
import type { Store } from './store.js';

export type { SiteSession } from './round/sessions.js';

export type { EnginePhase } from './dashboard-state.js';

/** The longest wait between two attempts of an aborted round. */
export const MAX_BACKOFF_MS = 60_000;

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineOptions {
  config: FederationConfig;
  store: Store;
  planner: Planner;
  /** Adapter layers in forward order (no head). */
  layers: string[];
  /** Initial global params (adapters + head); ignored when the store has a checkpoint. */
  initialGlobal: NamedArrays;
  log: Logger;
}

type RoundMessage = Narrow<'scores'> | Narrow<'update'> | Narrow<'evaluation'>;
type EvalMetrics = Narrow<'evaluation'>['metrics'];

const PHASE_OF = { scores: 'scores', update: 'train', evaluation: 'evaluate' } as const;

export class RoundEngine extends EventEmitter {
  readonly sessions = new SessionRegistry();
  phase: EnginePhase = 'waiting';
  /** The round in progress (or next to run). */
  round = 1;
  /** Global version = last completed round. */
  version = 0;
  global: NamedArrays;
  /** Aborted attempts in a row (reset by a completed round or `resume()`). */
  consecutiveAborts = 0;
  /** Why the federation paused (phase 'paused'), else null. */
  pausedReason: string | null = null;
  readonly cfg: FederationConfig;
  private readonly cache: GlobalWeightsCache;
  private collector: PhaseCollector<unknown> | null = null;
  private cohort = new Set<string>();
  private assignments: Record<string, string[]> = {};
  private bytes = { up: 0, down: 0 };
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly sleepers = new Set<() => void>();
  private loop: Promise<void> | null = null;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.cfg = opts.config;
    const cp = opts.store.latestCheckpoint();
    let changed: string[] = [];
    if (cp) {
      this.global = cp.global;
      this.version = cp.version;
      changed = cp.changedLayers;
    } else {
      this.global = opts.initialGlobal;
      opts.store.saveInitialGlobal(opts.initialGlobal);
    }
    this.cache = new GlobalWeightsCache(this.version, this.global, changed);
    this.round = this.version >= this.cfg.rounds ? this.version : this.version + 1;
    for (const name of Object.keys(this.global)) {
      const l = layerOf(name);
      if (l !== HEAD_LAYER && !opts.layers.includes(l)) {
        throw new Error(`global param "${name}" belongs to unknown layer "${l}"`);
      }
    }
    this.sessions.on('joined', () => {
      this.wake?.();
      this.changed();
    });
    this.sessions.on('left', (s) => {
      // Drop its buffered contribution: a departed site is never aggregated.
      this.collector?.drop(s.site);
      this.changed();
    });
  }

  get layers(): string[] {
    return this.opts.layers;
  }
  get done(): boolean {
    return this.version >= this.cfg.rounds;
  }

  /** Start the loop (idempotent; after a pause, see `resume`). */
  start(): void {
    this.loop ??= this.run()
      .catch((e: unknown) => {
        this.opts.log.error({ err: e }, 'round engine crashed');
        this.phase = 'stopped';
        this.changed();
      })
      .finally(() => {
        this.loop = null;
      });
  }

  /** Leave a pause: the abort count starts again and the loop retries the round. */
  resume(): void {
    if (this.phase !== 'paused') return;
    this.pausedReason = null;
    this.consecutiveAborts = 0;
    this.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.collector?.cancel();
    this.wake?.();
    for (const wakeUp of [...this.sleepers]) wakeUp();
    await this.loop;
  }

  // --- sessions ---------------------------------------------------------------------------

  join(s: SiteSession): void {
    this.sessions.join(s);
  }

  leave(s: SiteSession): void {
    this.sessions.leave(s);
  }

  /** A connected site's part in the current phase. */
  siteStatus(site: string): string {
    const c = this.collector;
    if (!c || !c.expected.has(site)) return this.cohort.has(site) ? 'waiting' : 'idle';
    return c.got.has(site) ? 'submitted' : this.phase === 'train' ? 'training' : this.phase;
  }

  /** Each site's last reported step time and memory (dashboard; set from its updates). */
  readonly siteCosts = new Map<string, { stepMs: number | null; memoryBytes: number | null }>();

  countBytes(dir: 'up' | 'down', n: number): void {
    this.bytes[dir] += n;
  }

  // --- incoming messages ------------------------------------------------------------------

  onMessage(s: SiteSession, msg: RoundMessage): void {
    const c = this.collector;
    if (
      this.phase !== PHASE_OF[msg.type] ||
      msg.round !== this.round ||
      !c ||
      !c.expected.has(s.site)
    ) {
      s.send(
        errorMessage(
          'stale-round',
          `"${msg.type}" for round ${msg.round} refused: the coordinator is in round ${this.round}, phase ${this.phase}` +
            (c && !c.expected.has(s.site) && msg.round === this.round
              ? ' and this site is not part of it (late joiners wait for the next round)'
              : ''),
          msg.round,
        ),
      );
      return;
    }
    if (c.got.has(s.site)) {
      s.send(
        errorMessage('unexpected', `duplicate "${msg.type}" for round ${msg.round}`, msg.round),
      );
      return;
    }
    let value: unknown;
    try {
      value = this.check(s, msg);
    } catch (e) {
      const code = msg.type === 'scores' ? 'bad-scores' : 'bad-update';
      this.opts.log.warn({ site: s.site, round: msg.round, err: (e as Error).message }, code);
      s.send(errorMessage(code, (e as Error).message, msg.round));
      // Its contribution is refused for this phase: stop waiting for it.
      c.release(s.site);
      return;
    }
    c.answer(s.site, value);
  }

  /** A site reported a local failure for the current round: stop waiting for it. */
  siteFailed(s: SiteSession, round: number | undefined, message: string): void {
    this.opts.log.warn({ site: s.site, round, err: message }, 'site reported an error');
    if (round === this.round) this.collector?.release(s.site);
  }

  private check(s: SiteSession, msg: RoundMessage): unknown {
    switch (msg.type) {
      case 'scores':
        return checkScores(msg, {
          layers: this.layers,
          scoreMethod: this.opts.planner.scoreMethod,
        });
      case 'update': {
        const u = checkUpdate(msg, {
          global: this.global,
          assigned: this.sharedAssigned(s.site),
        });
        const { stepMs, memoryBytes } = msg.metrics;
        this.siteCosts.set(s.site, { stepMs: stepMs ?? null, memoryBytes: memoryBytes ?? null });
        return u;
      }
      case 'evaluation':
        return checkEvaluation(msg);
    }
  }

  /**
   * The assigned layers a site's update carries: all of them, but none under personalization
   * 'adapters' (the site trains them as its own and sends the head only; core
   * federated/personalization.ts).
   */
  private sharedAssigned(site: string): string[] {
    if (this.cfg.personalization === 'adapters') return [];
    return this.assignments[site] ?? [];
  }

  // --- the loop ---------------------------------------------------------------------------

  private async run(): Promise<void> {
    const baseDone = this.opts.store.rounds().some((r) => r.round === 0 && r.accuracy !== null);
    if (this.version === 0 && !baseDone) {
      await this.waitQuorum();
      if (this.stopped) return;
      // Round 0: base accuracy before any training.
      this.bytes = { up: 0, down: 0 };
      await this.evaluatePhase(0, this.sessions.sites());
    }
    while (!this.stopped && !this.done) {
      await this.waitQuorum();
      if (this.stopped) break;
      const aborted = await this.runRound();
      if (aborted === null) {
        this.consecutiveAborts = 0;
        continue;
      }
      if (this.stopped) break;
      this.consecutiveAborts++;
      this.opts.store.abortRound(this.round, aborted, this.bytes);
      if (this.consecutiveAborts >= this.cfg.maxConsecutiveAborts) {
        this.pause(aborted);
        return;
      }
      await this.sleep(abortBackoffMs(this.cfg.abortBackoffMs, this.consecutiveAborts));
    }
    if (!this.stopped) {
      this.phase = 'done';
      this.changed();
      this.emit('done');
    }
  }

  private pause(lastReason: string): void {
    this.pausedReason =
      `paused after ${this.consecutiveAborts} aborted attempts of round ${this.round} in a row; ` +
      `last: ${lastReason}`;
    this.phase = 'paused';
    this.opts.log.error({ round: this.round, reason: this.pausedReason }, 'federation paused');
    this.tellAborted(`federation ${this.pausedReason}`);
    this.changed();
    this.emit('paused', this.pausedReason);
  }

  private async waitQuorum(): Promise<void> {
    this.phase = 'waiting';
    this.changed();
    while (!this.stopped && this.sessions.size < this.cfg.minClients) {
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    // A short grace period so that sites connecting together join the same round.
    if (this.cfg.quorumGraceMs > 0) await this.sleep(this.cfg.quorumGraceMs);
  }

  /** Sleeps `ms`, or less when the engine stops. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.sleepers.delete(finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.sleepers.add(finish);
    });
  }

  private required(cohort: number): number {
    return Math.max(this.cfg.minClients, Math.ceil(this.cfg.minCompletionRate * cohort));
  }

  /** The round config of one site; its seed derives from the federation seed and the site. */
  private roundConfig(s: SiteSession, round: number): RoundConfig {
    return {
      scoreMethod: this.opts.planner.scoreMethod,
      steps: this.cfg.steps,
      batchSize: this.cfg.batchSize,
      lr: this.cfg.lr,
      weightDecay: this.cfg.weightDecay,
      localOptimizer: this.cfg.localOptimizer,
      momentum: this.cfg.momentum,
      proxMu: this.cfg.proxMu,
      answerMask: this.cfg.answerMask,
      // Sent only when on, so that a 'none' federation's round config is what it was.
      ...(this.cfg.personalization !== undefined &&
        this.cfg.personalization !== 'none' && { personalization: this.cfg.personalization }),
      codec: this.cfg.codec,
      budget: s.budget,
      seed: deriveSeed(this.cfg.seed, round, s.site),
    };
  }

  private sendRoundStart(s: SiteSession, phase: 'scores' | 'evaluate', round: number): void {
    s.send({
      type: 'round-start',
      round,
      phase,
      global: this.cache.payloadFor(s.knownVersion),
      config: this.roundConfig(s, round),
    });
    s.knownVersion = this.version;
  }

  private collect<T>(expected: string[], deadlineMs: number): PhaseCollector<T> {
    const c = new PhaseCollector<T>(expected, deadlineMs, (missing) =>
      this.opts.log.warn(
        { round: this.round, phase: this.phase, missing },
        'phase deadline passed',
      ),
    );
    this.collector = c as PhaseCollector<unknown>;
    void c.done.then(() => {
      if (this.collector === c) this.collector = null;
    });
    return c;
  }

  /** Tells every site the round was aborted; returns the reason (for the loop). */
  private abort(reason: string): string {
    this.opts.log.warn({ round: this.round, reason }, 'round aborted');
    this.tellAborted(reason);
    this.emit('aborted', this.round, reason);
    return reason;
  }

  private tellAborted(reason: string): void {
    for (const s of this.sessions.all()) {
      s.send({
        type: 'round-end',
        round: this.round,
        status: 'aborted',
        accuracy: null,
        done: false,
        reason,
      });
    }
  }

  /** One attempt of the current round: null when it completed, else why it was aborted. */
  private async runRound(): Promise<string | null> {
    const round = this.round;
    this.bytes = { up: 0, down: 0 };
    const cohort = this.sessions.sites();
    this.cohort = new Set(cohort);
    const need = this.required(cohort.length);

    // 1. scores
    this.phase = 'scores';
    this.changed();
    const scoresC = this.collect<CheckedScores>(cohort, this.cfg.deadlines.scores);
    for (const site of cohort) this.sendRoundStart(this.sessions.get(site)!, 'scores', round);
    const scores = await scoresC.done;
    if (this.stopped) return null;
    if (scores.size < need)
      return this.abort(`only ${scores.size} of ${cohort.length} sites sent scores (need ${need})`);

    // 2. solve (off the event loop, within the solver's time budget)
    this.phase = 'solve';
    this.changed();
    const sites = [...scores.keys()].filter((x) => this.sessions.has(x)).sort();
    let plan: Plan;
    try {
      plan = await this.opts.planner.plan({
        round,
        layers: this.layers,
        sites: sites.map((site) => ({
          site,
          budget: this.sessions.get(site)!.budget,
          numSamples: scores.get(site)!.numSamples,
          scores: scores.get(site)!.scores,
        })),
      });
    } catch (e) {
      return this.abort(`layer selection failed: ${(e as Error).message}`);
    }
    if (this.stopped) return null;
    this.emit('solved', round, plan);

    // 3. assignments -> updates
    this.phase = 'train';
    this.assignments = plan.assignments;
    this.changed();
    const trainees = sites.filter((x) => this.sessions.has(x));
    const updatesC = this.collect<CheckedUpdate>(trainees, this.cfg.deadlines.train);
    for (const site of trainees) {
      this.sessions
        .get(site)!
        .send({ type: 'assignment', round, layers: plan.assignments[site] ?? [] });
    }
    const updates = await updatesC.done;
    if (this.stopped) return null;
    if (updates.size < need)
      return this.abort(
        `only ${updates.size} of ${trainees.length} sites sent updates (need ${need})`,
      );

    // 4. aggregate (the strategy's reduction) and commit the round
    this.phase = 'aggregate';
    this.changed();
    const names = [...updates.keys()].sort();
    const failures = trainees
      .filter((x) => !updates.has(x))
      .map((site) => ({
        site,
        reason: this.sessions.has(site) ? 'no valid update' : 'left',
      }));
    const agg = this.opts.planner.aggregate({
      round,
      global: this.global,
      assignments: plan.assignments,
      results: names.map((site) => ({
        site,
        numSamples: updates.get(site)!.numSamples,
        deltas: updates.get(site)!.deltas,
      })),
      failures,
    });
    const selection: Record<string, string[]> = {};
    const trainMetrics: Record<string, unknown> = {};
    for (const site of names) {
      selection[site] = plan.assignments[site] ?? [];
      trainMetrics[site] = {
        ...updates.get(site)!.metrics,
        numSamples: updates.get(site)!.numSamples,
      };
    }
    const changedLayers = Object.entries(agg.contributors)
      .filter(([, n]) => n > 0)
      .map(([l]) => l);
    this.opts.store.completeRound({
      round,
      global: agg.params,
      changedLayers,
      selection,
      trainMetrics,
      bytesUp: this.bytes.up,
      bytesDown: this.bytes.down,
      front: plan.front,
      selected: plan.selected,
    });
    this.global = agg.params;
    this.version = round;
    this.cache.set(round, agg.params, changedLayers);
    // A trainee whose update was not aggregated may hold locally trained weights that the
    // next diff would not overwrite: it gets the full global weights next time.
    for (const f of failures) {
      const s = this.sessions.get(f.site);
      if (s) s.knownVersion = null;
    }
    this.opts.log.info(
      { round, sites: names.length, changedLayers: changedLayers.length, solverMs: plan.solverMs },
      'round aggregated',
    );

    // 5. evaluate the new global weights on every connected site's held-out split
    this.bytes = { up: 0, down: 0 };
    await this.evaluatePhase(round, this.sessions.sites());
    return null;
  }

  private async evaluatePhase(round: number, sites: string[]): Promise<void> {
    this.round = round;
    this.phase = 'evaluate';
    this.changed();
    const evalC = this.collect<EvalMetrics>(sites, this.cfg.deadlines.evaluate);
    for (const site of sites) this.sendRoundStart(this.sessions.get(site)!, 'evaluate', round);
    const evals = await evalC.done;
    const { accuracy, loss } = this.opts.planner.aggregateEvaluation(
      round,
      [...evals].map(([site, m]) => ({ site, ...m })),
    );
    // Bytes of the evaluate phase belong to this round; completeRound stored the rest.
    this.opts.store.saveEvaluation(round, accuracy, loss, Object.fromEntries(evals), this.bytes);
    this.opts.log.info({ round, accuracy, sites: evals.size }, 'round evaluated');
    const done = round >= this.cfg.rounds;
    for (const s of this.sessions.all()) {
      s.send({ type: 'round-end', round, status: 'completed', accuracy, done });
    }
    this.emit('round', round, accuracy);
    // The dashboard shows the last round once the federation is done.
    this.round = done ? round : round + 1;
    this.changed();
  }

  private changed(): void {
    this.emit('change');
  }
}

/** The wait before the next attempt after `aborts` aborted attempts in a row (doubling). */
export function abortBackoffMs(baseMs: number, aborts: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, aborts - 1));
}
