/**
 * The round engine: a state machine that owns the federation loop (Flower's server loop).
 *
 *   waiting (quorum) -> scores -> solve -> train -> aggregate -> evaluate -> next round
 *
 * - A round's cohort is the set of joined sites when it starts; late joiners wait for the next
 *   round (their messages for the current one are refused as stale).
 * - Every phase has a deadline. A phase ends when every cohort member still connected has
 *   answered, or at the deadline. It needs answers from at least
 *   max(minClients, ceil(minCompletionRate * cohort)) sites, else the round is aborted and
 *   retried after a new quorum.
 * - A site that leaves loses its buffered contribution for the round (never aggregated).
 * - Updates are decoded against the expected names and shapes (assigned layers + head); NaN/Inf,
 *   unknown or unassigned layers and wrong shapes are refused with 'bad-update' and logged.
 * - Global evaluation: the coordinator has no data. After aggregation the new global weights go
 *   to every connected site with phase 'evaluate'; global held-out accuracy is the
 *   sample-weighted mean of the accuracies they report (round 0 = the base model).
 */
import { EventEmitter } from 'node:events';
import {
  decodeUpdate,
  encodeUpdate,
  errorMessage,
  type Message,
  type Narrow,
  type RoundConfig,
} from '@focus-fl/core/federated';
import { layerOf, type NamedArrays } from '@focus-fl/core/tensors';
import type { FederationConfig } from './config.js';
import type { Plan, Planner } from './planner.js';
import type { Store } from './store.js';

export type EnginePhase =
  'waiting' | 'evaluate' | 'scores' | 'solve' | 'train' | 'aggregate' | 'done' | 'stopped';

/** What the engine needs from a connected site (the ws layer implements it). */
export interface SiteSession {
  readonly site: string;
  readonly budget: number;
  readonly backend: string;
  numSamples: number;
  /** Global version this site holds (null: none / unknown). */
  knownVersion: number | null;
  send(msg: Message): void;
  close(code: number, reason: string): void;
}

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

interface Collector<T> {
  expected: Set<string>;
  got: Map<string, T>;
  done: () => void;
}

export interface RoundSummary {
  round: number;
  accuracy: number | null;
  loss: number | null;
  perClient: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  selection: Record<string, string[]>;
  front: { importance: number; variance: number }[];
  selected: number | null;
}

export class RoundEngine extends EventEmitter {
  readonly sessions = new Map<string, SiteSession>();
  phase: EnginePhase = 'waiting';
  /** The round in progress (or next to run). */
  round = 1;
  /** Global version = last completed round. */
  version = 0;
  global: NamedArrays;
  private changedLayers: string[] = [];
  private readonly globalCache = new Map<string, Uint8Array>();
  private collector: Collector<unknown> | null = null;
  private cohort = new Set<string>();
  private assignments: Record<string, string[]> = {};
  private bytes = { up: 0, down: 0 };
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly shapes: Record<string, number[]>;
  readonly cfg: FederationConfig;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.cfg = opts.config;
    const cp = opts.store.latestCheckpoint();
    if (cp) {
      this.global = cp.global;
      this.version = cp.version;
      this.changedLayers = cp.changedLayers;
    } else {
      this.global = opts.initialGlobal;
      opts.store.saveInitialGlobal(opts.initialGlobal);
    }
    this.round = this.version >= this.cfg.rounds ? this.version : this.version + 1;
    this.shapes = Object.fromEntries(Object.entries(this.global).map(([k, v]) => [k, v.shape]));
    for (const name of Object.keys(this.global)) {
      const l = layerOf(name);
      if (l !== 'head' && !opts.layers.includes(l)) {
        throw new Error(`global param "${name}" belongs to unknown layer "${l}"`);
      }
    }
  }

  get layers(): string[] {
    return this.opts.layers;
  }
  get done(): boolean {
    return this.version >= this.cfg.rounds;
  }

  /** Start the loop (idempotent). */
  start(): void {
    this.loop ??= this.run().catch((e: unknown) => {
      this.opts.log.error({ err: e }, 'round engine crashed');
      this.phase = 'stopped';
      this.changed();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.collector?.done();
    this.wake?.();
    await this.loop;
  }

  // --- sessions ---------------------------------------------------------------------------

  /** A site finished its hello. A second connection for the same site replaces the first. */
  join(s: SiteSession): void {
    const old = this.sessions.get(s.site);
    if (old) {
      old.send(errorMessage('duplicate', 'replaced by a newer connection of this site'));
      old.close(4000, 'replaced');
      this.leave(old);
    }
    this.sessions.set(s.site, s);
    this.wake?.();
    this.changed();
  }

  leave(s: SiteSession): void {
    if (this.sessions.get(s.site) !== s) return;
    this.sessions.delete(s.site);
    const c = this.collector;
    if (c && c.expected.has(s.site)) {
      // Drop its buffered contribution: a departed site is never aggregated (DISCO's gap).
      c.expected.delete(s.site);
      c.got.delete(s.site);
      if (c.got.size >= c.expected.size) c.done();
    }
    this.changed();
  }

  /** A connected site's part in the current phase: 'working', 'submitted' or 'idle'. */
  siteStatus(site: string): string {
    const c = this.collector;
    if (!c || !c.expected.has(site)) return this.cohort.has(site) ? 'waiting' : 'idle';
    return c.got.has(site) ? 'submitted' : this.phase === 'train' ? 'training' : this.phase;
  }

  countBytes(dir: 'up' | 'down', n: number): void {
    this.bytes[dir] += n;
  }

  // --- incoming messages ------------------------------------------------------------------

  onMessage(s: SiteSession, msg: Narrow<'scores'> | Narrow<'update'> | Narrow<'evaluation'>): void {
    const want = { scores: 'scores', update: 'train', evaluation: 'evaluate' }[msg.type];
    const c = this.collector;
    if (this.phase !== want || msg.round !== this.round || !c || !c.expected.has(s.site)) {
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
      this.release(s.site);
      return;
    }
    c.got.set(s.site, value);
    if (c.got.size >= c.expected.size) c.done();
  }

  /** A site reported a local failure for the current round: stop waiting for it. */
  siteFailed(s: SiteSession, round: number | undefined, message: string): void {
    this.opts.log.warn({ site: s.site, round, err: message }, 'site reported an error');
    if (round === this.round) this.release(s.site);
  }

  private release(site: string): void {
    const c = this.collector;
    if (!c || !c.expected.has(site) || c.got.has(site)) return;
    c.expected.delete(site);
    if (c.got.size >= c.expected.size) c.done();
  }

  private check(s: SiteSession, msg: Narrow<'scores'> | Narrow<'update'> | Narrow<'evaluation'>) {
    switch (msg.type) {
      case 'scores': {
        if (msg.scores.length !== this.layers.length) {
          throw new Error(
            `expected ${this.layers.length} scores (one per layer), got ${msg.scores.length}`,
          );
        }
        // LNTK scores are normalised top eigenvalues (method.md §1): non-negative, not all
        // zero. Baseline scorers may be negative (GraSP) and are only ranked, so any finite
        // value (the schema guarantees finiteness) is fine for them.
        if (this.opts.planner.scoreMethod === 'lntk') {
          const bad = msg.scores.findIndex((x) => !(x >= 0));
          if (bad >= 0) {
            throw new Error(
              `LNTK score of layer ${this.layers[bad]} is ${msg.scores[bad]}; must be >= 0`,
            );
          }
          if (!(msg.scores.reduce((a, b) => a + b, 0) > 0)) {
            throw new Error('LNTK scores are all zero');
          }
        }
        s.numSamples = msg.numSamples;
        return msg;
      }
      case 'update': {
        const assigned = this.assignments[s.site] ?? [];
        const expected: Record<string, number[]> = {};
        for (const [name, shape] of Object.entries(this.shapes)) {
          const l = layerOf(name);
          if (l === 'head' || assigned.includes(l)) expected[name] = shape;
        }
        // decodeUpdate rejects NaN/Inf, unknown names and wrong shapes, naming the tensor.
        const deltas = decodeUpdate(msg.deltas.bytes, expected);
        const missing = Object.keys(expected).filter((n) => !(n in deltas));
        if (missing.length)
          throw new Error(`update lacks assigned params: ${missing.slice(0, 4).join(', ')}`);
        if (msg.numSamples <= 0) throw new Error('numSamples must be > 0 for an update');
        return { deltas, numSamples: msg.numSamples, metrics: msg.metrics };
      }
      case 'evaluation':
        return msg.metrics;
    }
  }

  // --- the loop ---------------------------------------------------------------------------

  private async run(): Promise<void> {
    const roundsDone = this.opts.store.rounds().some((r) => r.round === 0 && r.accuracy !== null);
    if (this.version === 0 && !roundsDone) {
      await this.waitQuorum();
      if (this.stopped) return;
      // Round 0: base accuracy before any training.
      this.bytes = { up: 0, down: 0 };
      await this.evaluatePhase(0, [...this.sessions.keys()]);
    }
    while (!this.stopped && !this.done) {
      await this.waitQuorum();
      if (this.stopped) break;
      await this.runRound();
    }
    if (!this.stopped) {
      this.phase = 'done';
      this.changed();
      this.emit('done');
    }
  }

  private async waitQuorum(): Promise<void> {
    this.phase = 'waiting';
    this.changed();
    while (!this.stopped && this.sessions.size < this.cfg.minClients) {
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    // A short grace period so that sites connecting together join the same round.
    if (!this.stopped && this.cfg.quorumGraceMs > 0) await sleep(this.cfg.quorumGraceMs);
  }

  private required(cohort: number): number {
    return Math.max(this.cfg.minClients, Math.ceil(this.cfg.minCompletionRate * cohort));
  }

  private roundConfig(budget: number): RoundConfig {
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
      codec: this.cfg.codec,
      budget,
      seed: (this.cfg.seed * 1000 + this.round) | 0,
    };
  }

  /** The global weights a site needs: nothing, the layers changed in the last round, or all. */
  private globalFor(s: SiteSession): Narrow<'round-start'>['global'] {
    if (s.knownVersion === this.version) return null;
    const diff = s.knownVersion !== null && s.knownVersion === this.version - 1;
    // Encoded once per (version, full|diff) and shared by every site.
    const key = `${this.version}:${diff ? 'diff' : 'full'}`;
    let bytes = this.globalCache.get(key);
    if (!bytes) {
      const params: NamedArrays = {};
      for (const [k, v] of Object.entries(this.global)) {
        if (!diff || this.changedLayers.includes(layerOf(k))) params[k] = v;
      }
      bytes = encodeUpdate(params, 'fp32');
      if (this.globalCache.size > 4) this.globalCache.clear();
      this.globalCache.set(key, bytes);
    }
    return {
      version: this.version,
      from: diff ? s.knownVersion : null,
      params: { codec: 'fp32', bytes },
    };
  }

  private sendRoundStart(s: SiteSession, phase: 'scores' | 'evaluate', round: number): void {
    s.send({
      type: 'round-start',
      round,
      phase,
      global: this.globalFor(s),
      config: this.roundConfig(s.budget),
    });
    s.knownVersion = this.version;
  }

  private collect<T>(expected: string[], deadlineMs: number): Promise<Map<string, T>> {
    return new Promise((resolve) => {
      const deadline: { timer?: NodeJS.Timeout } = {};
      const c: Collector<T> = {
        expected: new Set(expected),
        got: new Map(),
        done: () => {
          clearTimeout(deadline.timer);
          if (this.collector === c) this.collector = null;
          resolve(c.got);
        },
      };
      this.collector = c as Collector<unknown>;
      if (c.expected.size === 0) return c.done();
      deadline.timer = setTimeout(() => {
        this.opts.log.warn(
          {
            round: this.round,
            phase: this.phase,
            missing: [...c.expected].filter((x) => !c.got.has(x)),
          },
          'phase deadline passed',
        );
        c.done();
      }, deadlineMs);
    });
  }

  private abort(reason: string): void {
    this.opts.log.warn({ round: this.round, reason }, 'round aborted');
    for (const s of this.sessions.values()) {
      s.send({
        type: 'round-end',
        round: this.round,
        status: 'aborted',
        accuracy: null,
        done: false,
        reason,
      });
    }
    this.emit('aborted', this.round, reason);
  }

  private async runRound(): Promise<void> {
    const round = this.round;
    this.bytes = { up: 0, down: 0 };
    const cohort = [...this.sessions.keys()];
    this.cohort = new Set(cohort);
    const need = this.required(cohort.length);

    // 1. scores
    this.phase = 'scores';
    this.changed();
    const scoresP = this.collect<Narrow<'scores'>>(cohort, this.cfg.deadlines.scores);
    for (const site of cohort) this.sendRoundStart(this.sessions.get(site)!, 'scores', round);
    const scores = await scoresP;
    if (this.stopped) return;
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
    if (this.stopped) return;
    this.emit('solved', round, plan);

    // 3. assignments -> updates
    this.phase = 'train';
    this.assignments = plan.assignments;
    this.changed();
    const trainees = sites.filter((x) => this.sessions.has(x));
    const updatesP = this.collect<{ deltas: NamedArrays; numSamples: number; metrics: unknown }>(
      trainees,
      this.cfg.deadlines.train,
    );
    for (const site of trainees) {
      this.sessions
        .get(site)!
        .send({ type: 'assignment', round, layers: plan.assignments[site] ?? [] });
    }
    const updates = await updatesP;
    if (this.stopped) return;
    // A site that left after sending was already removed by leave(); re-check anyway.
    for (const site of [...updates.keys()]) if (!this.sessions.has(site)) updates.delete(site);
    if (updates.size < need)
      return this.abort(
        `only ${updates.size} of ${trainees.length} sites sent updates (need ${need})`,
      );

    // 4. aggregate (masked, sample-weighted FedAvg) and commit the round
    this.phase = 'aggregate';
    this.changed();
    const names = [...updates.keys()].sort();
    const failures = trainees
      .filter((x) => !updates.has(x))
      .map((client) => ({
        client,
        reason: this.sessions.has(client) ? 'no valid update' : 'left',
      }));
    const agg = this.opts.planner.aggregate(
      round,
      this.global,
      plan.assignments,
      names.map((site) => ({
        client: site,
        numSamples: updates.get(site)!.numSamples,
        deltas: updates.get(site)!.deltas,
      })),
      failures,
    );
    const selection: Record<string, string[]> = {};
    const trainMetrics: Record<string, unknown> = {};
    for (const site of names) {
      selection[site] = plan.assignments[site] ?? [];
      trainMetrics[site] = {
        ...(updates.get(site)!.metrics as object),
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
    // A trainee whose update was not aggregated may hold locally trained weights that the
    // next diff would not overwrite: it gets the full global weights next time.
    for (const f of failures) {
      const s = this.sessions.get(f.client);
      if (s) s.knownVersion = null;
    }
    this.changedLayers = changedLayers;
    this.opts.log.info(
      { round, sites: names.length, changedLayers: changedLayers.length, solverMs: plan.solverMs },
      'round aggregated',
    );

    // 5. evaluate the new global weights on every connected site's held-out split
    this.bytes = { up: 0, down: 0 };
    await this.evaluatePhase(round, [...this.sessions.keys()]);
  }

  private async evaluatePhase(round: number, sites: string[]): Promise<void> {
    this.round = round;
    this.phase = 'evaluate';
    this.changed();
    const evalP = this.collect<Narrow<'evaluation'>['metrics']>(sites, this.cfg.deadlines.evaluate);
    for (const site of sites) this.sendRoundStart(this.sessions.get(site)!, 'evaluate', round);
    const evals = await evalP;
    let n = 0;
    let acc = 0;
    let loss = 0;
    const perSite: Record<string, unknown> = {};
    for (const [site, m] of evals) {
      perSite[site] = m;
      n += m.numSamples;
      acc += m.accuracy * m.numSamples;
      loss += m.loss * m.numSamples;
    }
    const accuracy = n > 0 ? acc / n : null;
    const meanLoss = n > 0 ? loss / n : null;
    // Bytes of the evaluate phase belong to this round; completeRound stored the rest.
    this.opts.store.saveEvaluation(round, accuracy, meanLoss, perSite, this.bytes);
    this.opts.log.info({ round, accuracy, sites: evals.size }, 'round evaluated');
    const done = round >= this.cfg.rounds;
    for (const s of this.sessions.values()) {
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
