/**
 * The site side of the protocol (protocol.ts), shared by the browser worker and the Node
 * simulator: a small state machine over a `Transport` (bytes in/out) and a `LocalCompute`
 * (the model, the local data, tfjs). It knows nothing of WebSockets, workers or tfjs.
 *
 * Reconnect-friendly: the client keeps its global version across transports, so a site that
 * reconnects sends `haveVersion` and gets only what changed (or everything if it is behind).
 * Results computed for a round/phase that is no longer current are dropped, never sent.
 */
import type { LayerScores } from '../importance/methods.js';
import type { NamedArrays } from '../tensors/named.js';
import { decodeUpdate, encodeUpdate } from './codecs.js';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  assertNever,
  decodeFrame,
  encodeFrame,
  type Backend,
  type Codec,
  type Message,
  type Narrow,
  type RoundConfig,
  type ScoreMethod,
} from './protocol.js';

/** A bidirectional byte channel (a WebSocket, a MessagePort, an in-memory pipe). */
export interface Transport {
  send(bytes: Uint8Array): void;
  /** Registers the only message handler. */
  onMessage(handler: (bytes: Uint8Array) => void): void;
  /** Registers the only close handler (called once, on either side's close). */
  onClose(handler: (reason: string) => void): void;
  close(): void;
}

export interface PerTypeMetric {
  accuracy: number;
  n: number;
}

export interface EvalResult {
  accuracy: number;
  loss: number;
  numSamples: number;
  perType: Record<string, PerTypeMetric>;
  /** Personalised evaluation only: the global model's accuracy and loss beside the site's own. */
  shared?: { accuracy: number; loss: number };
}

export interface TrainResult {
  /** Deltas of exactly the given layers' params plus the head. */
  deltas: NamedArrays;
  metrics: {
    loss: number;
    accuracy: number;
    perType: Record<string, PerTypeMetric>;
    stepMs?: number;
    memoryBytes?: number;
  };
}

/** What a round asks a site to score (from its round-start). */
export interface ScoreRequest {
  method: ScoreMethod;
  round: number;
  /** The site's round seed (round-start config.seed); every local draw derives from it. */
  seed: number;
  /** The coordinator's trainable layers (welcome.layers). */
  layers: string[];
}

/** What the site computes locally; images never leave it. */
export interface LocalCompute {
  /** Number of local training samples (FedAvg weight). */
  numSamples(): number;
  /** Named scores of `request.layers`. */
  computeScores(request: ScoreRequest): Promise<LayerScores>;
  train(layers: string[], config: RoundConfig & { round: number }): Promise<TrainResult>;
  /**
   * Held-out evaluation of the current (global) weights; `config` is the round's (its
   * `answerMask` is the prediction rule, federated/local-options.ts).
   */
  evaluate(config?: RoundConfig): Promise<EvalResult>;
  /** Overwrite the named global params (adapters + head) in the local model. */
  setGlobal(params: NamedArrays): Promise<void> | void;
}

/** Encoder/decoder for named tensors (core codecs.ts: encodeUpdate / decodeUpdate). */
export interface UpdateCodec {
  encode(deltas: NamedArrays, codec: Codec): Uint8Array;
  decode(bytes: Uint8Array): NamedArrays;
}

export type SitePhase =
  | 'connecting'
  | 'waiting' // joined, waiting for a round
  | 'scoring'
  | 'awaiting-assignment'
  | 'training'
  | 'evaluating'
  | 'done'
  | 'failed';

export interface SiteStatus {
  phase: SitePhase;
  round: number;
  site?: string;
  layers?: string[];
  assigned?: string[];
  lastAccuracy?: number | null;
  message?: string;
}

export interface SiteClientOptions {
  token: string;
  backend: Backend;
  compute: LocalCompute;
  /** Defaults to core's encodeUpdate / decodeUpdate. */
  codec?: UpdateCodec;
  onStatus?: (s: SiteStatus) => void;
  /** Bytes sent/received, for accounting. */
  onTraffic?: (dir: 'up' | 'down', bytes: number, msg: Message) => void;
}

export const defaultUpdateCodec: UpdateCodec = {
  encode: (d, c) => encodeUpdate(d, c),
  decode: (b) => decodeUpdate(b),
};

/** Error codes after which reconnecting cannot help. */
const FATAL = new Set(['auth', 'version', 'duplicate']);

export class SiteClient {
  private transport: Transport | null = null;
  private status: SiteStatus = { phase: 'connecting', round: 0 };
  private globalVersion: number | null = null;
  private layers: string[] = [];
  /** Increments on every phase change; async work tagged with an older epoch is dropped. */
  private epoch = 0;
  private config: RoundConfig | null = null;
  private fatal: string | null = null;
  private queue: Promise<void> = Promise.resolve();

  private readonly codec: UpdateCodec;

  constructor(private readonly opts: SiteClientOptions) {
    this.codec = opts.codec ?? defaultUpdateCodec;
  }

  get state(): Readonly<SiteStatus> {
    return this.status;
  }
  get version(): number | null {
    return this.globalVersion;
  }

  /**
   * Run over one transport until it closes. Resolves with 'done' when the federation finished,
   * 'fatal' after an auth/version error, 'closed' otherwise (the caller may reconnect).
   */
  attach(transport: Transport): Promise<'done' | 'fatal' | 'closed'> {
    this.transport = transport;
    this.epoch++;
    this.setStatus({ phase: 'connecting', message: undefined });
    return new Promise((resolve) => {
      transport.onMessage((bytes) => {
        // Handle messages strictly in order, even though handlers await local compute.
        this.queue = this.queue
          .then(() => this.receive(bytes))
          .catch((e: unknown) => this.localFailure(e));
      });
      transport.onClose((reason) => {
        this.transport = null;
        this.epoch++;
        if (this.status.phase === 'done') resolve('done');
        else if (this.fatal) {
          this.setStatus({ phase: 'failed', message: this.fatal });
          resolve('fatal');
        } else {
          this.setStatus({ phase: 'connecting', message: `disconnected: ${reason}` });
          resolve('closed');
        }
      });
      this.send({
        type: 'hello',
        version: PROTOCOL_VERSION,
        token: this.opts.token,
        backend: this.opts.backend,
        numSamples: this.opts.compute.numSamples(),
        haveVersion: this.globalVersion,
      });
    });
  }

  /**
   * Connect, and reconnect with backoff after unexpected closes, until done or fatal.
   * `open` must resolve with a connected transport (or reject).
   */
  async run(
    open: () => Promise<Transport>,
    { retries = 20, backoffMs = 250 }: { retries?: number; backoffMs?: number } = {},
  ): Promise<'done' | 'fatal'> {
    let failures = 0;
    for (;;) {
      let outcome: 'done' | 'fatal' | 'closed';
      try {
        outcome = await this.attach(await open());
      } catch (e) {
        outcome = 'closed';
        this.setStatus({ phase: 'connecting', message: (e as Error).message });
      }
      if (outcome !== 'closed') return outcome;
      if (this.fatal) return 'fatal';
      if (++failures > retries) {
        this.setStatus({ phase: 'failed', message: 'gave up reconnecting' });
        return 'fatal';
      }
      await new Promise((r) => setTimeout(r, Math.min(backoffMs * 2 ** (failures - 1), 5000)));
    }
  }

  /** Stop for good: close the connection and do not reconnect (`run` resolves 'fatal'). */
  stop(reason = 'stopped'): void {
    this.fatal ??= reason;
    if (this.transport) this.leave(reason);
  }

  /** Leave politely. */
  leave(reason = 'leaving'): void {
    if (!this.transport) return;
    this.send({ type: 'bye', reason });
    this.transport.close();
  }

  private async receive(bytes: Uint8Array): Promise<void> {
    let msg: Message;
    try {
      msg = decodeFrame(bytes);
    } catch (e) {
      const err = e as ProtocolError;
      this.send({ type: 'error', code: err.code ?? 'bad-frame', message: err.message });
      return;
    }
    this.opts.onTraffic?.('down', bytes.byteLength, msg);
    await this.handle(msg);
  }

  private async handle(msg: Message): Promise<void> {
    switch (msg.type) {
      case 'welcome':
        this.layers = msg.layers;
        this.setStatus({
          phase: 'waiting',
          site: msg.site,
          layers: msg.layers,
          round: msg.round,
        });
        return;
      case 'round-start':
        return this.onRoundStart(msg);
      case 'assignment':
        return this.onAssignment(msg);
      case 'round-end':
        this.epoch++;
        this.setStatus({
          phase: msg.done ? 'done' : 'waiting',
          round: msg.round,
          lastAccuracy: msg.accuracy,
          assigned: undefined,
        });
        if (msg.done) this.transport?.close();
        return;
      case 'error':
        if (FATAL.has(msg.code)) {
          this.fatal = `${msg.code}: ${msg.message}`;
          this.transport?.close();
        } else {
          this.setStatus({ message: `${msg.code}: ${msg.message}` });
        }
        return;
      case 'bye':
        this.setStatus({ message: `server: ${msg.reason}` });
        this.transport?.close();
        return;
      case 'hello':
      case 'scores':
      case 'update':
      case 'evaluation':
        this.send({
          type: 'error',
          code: 'unexpected',
          message: `a site does not accept "${msg.type}" messages`,
        });
        return;
      default:
        assertNever(msg);
    }
  }

  private async onRoundStart(msg: Narrow<'round-start'>): Promise<void> {
    const epoch = ++this.epoch;
    this.config = msg.config;
    if (msg.global) {
      const g = msg.global;
      if (g.from !== null && g.from !== this.globalVersion) {
        // We cannot apply a diff against a version we do not hold: reconnect for a full copy.
        const held = this.globalVersion;
        this.globalVersion = null;
        this.send({
          type: 'error',
          code: 'unexpected',
          message: `global diff from version ${g.from} but this site holds ${held}`,
        });
        this.transport?.close();
        return;
      }
      await this.opts.compute.setGlobal(this.codec.decode(g.params.bytes));
      this.globalVersion = g.version;
    }
    if (msg.phase === 'scores') {
      this.setStatus({ phase: 'scoring', round: msg.round, assigned: undefined });
      const started = Date.now();
      const scores = await this.opts.compute.computeScores({
        method: msg.config.scoreMethod,
        round: msg.round,
        seed: msg.config.seed,
        layers: this.layers,
      });
      if (epoch !== this.epoch) return;
      this.setStatus({ phase: 'awaiting-assignment' });
      this.send({
        type: 'scores',
        round: msg.round,
        scores: { layers: scores.layers, scores: scores.scores },
        numSamples: this.opts.compute.numSamples(),
        ms: Date.now() - started,
      });
    } else {
      this.setStatus({ phase: 'evaluating', round: msg.round });
      const m = await this.opts.compute.evaluate(msg.config);
      if (epoch !== this.epoch) return;
      this.send({ type: 'evaluation', round: msg.round, metrics: m });
      this.setStatus({ phase: 'waiting', lastAccuracy: m.accuracy });
    }
  }

  private async onAssignment(msg: Narrow<'assignment'>): Promise<void> {
    const epoch = ++this.epoch;
    const config = this.config;
    if (!config) {
      this.send({ type: 'error', code: 'unexpected', message: 'assignment before round-start' });
      return;
    }
    this.setStatus({ phase: 'training', round: msg.round, assigned: msg.layers });
    const started = Date.now();
    const res = await this.opts.compute.train(msg.layers, { ...config, round: msg.round });
    if (epoch !== this.epoch) return;
    this.send({
      type: 'update',
      round: msg.round,
      deltas: { codec: config.codec, bytes: this.codec.encode(res.deltas, config.codec) },
      numSamples: this.opts.compute.numSamples(),
      metrics: { ...res.metrics, ms: Date.now() - started },
    });
    this.setStatus({ phase: 'waiting' });
  }

  /** Local compute failed: tell the coordinator (it stops waiting for us this phase). */
  private localFailure(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.setStatus({ phase: 'waiting', message: `local error: ${message}` });
    try {
      this.send({
        type: 'error',
        code: 'internal',
        message: message.slice(0, 500),
        round: this.status.round,
      });
    } catch {
      // the transport is gone; nothing to tell
    }
  }

  private send(msg: Message): void {
    if (!this.transport) return;
    const bytes = encodeFrame(msg);
    this.opts.onTraffic?.('up', bytes.byteLength, msg);
    this.transport.send(bytes);
  }

  private setStatus(patch: Partial<SiteStatus>): void {
    this.status = { ...this.status, ...patch };
    this.opts.onStatus?.(this.status);
  }
}
