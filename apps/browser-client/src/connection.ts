// The page's link to the coordinator: a WebSocket as the site-client's Transport, and the
// worker (via comlink) as its LocalCompute. Only what site-client sends leaves the tab: scores,
// encoded deltas of the assigned layers and metrics (protocol.ts). The base model is fetched
// by the worker from welcome.modelUrl and cached.
import type { Remote } from 'comlink';
import { proxy } from 'comlink';
import {
  SiteClient,
  decodeUpdate,
  encodeUpdate,
  type LocalCompute,
  type Message,
  type SiteStatus,
  type Transport,
} from '@focus-fl/core/federated';
import type { BackendName, ModelInfo, Progress, WorkerApi } from './api.js';

export interface ConnectionEvents {
  status(s: SiteStatus): void;
  traffic(up: number, down: number): void;
  model(p: { done: number; total: number; info?: ModelInfo; error?: string }): void;
  lntk: Progress;
  train: Progress;
  evaluated(round: number, m: Awaited<ReturnType<LocalCompute['evaluate']>>): void;
  /** Every update this tab sent: round and the layers it carried (for the page's log). */
  uploaded(round: number, layers: string[], bytes: number): void;
}

/** Opens a binary WebSocket and wraps it as a Transport; rejects if it cannot open. */
export function openWebSocket(url: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let onMessage: (b: Uint8Array) => void = () => undefined;
    let onClose: (r: string) => void = () => undefined;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      resolve({
        send: (bytes) => ws.send(bytes),
        onMessage: (h) => (onMessage = h),
        onClose: (h) => (onClose = h),
        close: () => ws.close(1000, 'bye'),
      });
    };
    ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) onMessage(new Uint8Array(ev.data));
    };
    ws.onerror = () => {
      if (!opened) reject(new Error(`cannot connect to ${url}`));
    };
    ws.onclose = (ev) => {
      if (!opened) reject(new Error(`cannot connect to ${url} (${ev.code})`));
      else onClose(ev.reason || `closed (${ev.code})`);
    };
  });
}

/** ws://host:port/ws -> http://host:port/<path> (the coordinator serves both). */
export function httpUrl(wsUrl: string, path: string): string {
  const u = new URL(path, wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  return u.toString();
}

export class Connection {
  private client: SiteClient | null = null;
  private modelReady: Promise<ModelInfo> | null = null;
  private up = 0;
  private down = 0;

  constructor(
    private readonly worker: Remote<WorkerApi>,
    private readonly events: ConnectionEvents,
  ) {}

  get status(): SiteStatus | null {
    return this.client?.state ?? null;
  }

  /** Runs until the federation is done, the token is refused, or `leave()`. */
  async run(opts: {
    url: string;
    token: string;
    backend: BackendName;
    numSamples: number;
  }): Promise<'done' | 'fatal'> {
    const worker = this.worker;
    const ev = this.events;
    const ready = (): Promise<ModelInfo> => {
      if (!this.modelReady) throw new Error('no model yet: the coordinator has not welcomed us');
      return this.modelReady;
    };
    const compute: LocalCompute = {
      numSamples: () => opts.numSamples,
      computeScores: async (request) => {
        await ready();
        return worker.computeScores(request, proxy(ev.lntk));
      },
      train: async (layers, config) => {
        await ready();
        const res = await worker.train(layers, config, proxy(ev.train));
        return res;
      },
      evaluate: async (config) => {
        await ready();
        const m = await worker.evaluate(config);
        ev.evaluated(this.client?.state.round ?? 0, m);
        return m;
      },
      setGlobal: async (params) => {
        await ready();
        await worker.setGlobal(params);
      },
    };
    this.client = new SiteClient({
      token: opts.token,
      backend: opts.backend,
      compute,
      codec: { encode: encodeUpdate, decode: (b) => decodeUpdate(b) },
      onStatus: (s) => ev.status(s),
      onTraffic: (dir, bytes, msg) => {
        if (dir === 'up') this.up += bytes;
        else this.down += bytes;
        ev.traffic(this.up, this.down);
        this.observe(dir, msg, bytes, opts.url);
      },
    });
    return this.client.run(() => openWebSocket(opts.url));
  }

  leave(): void {
    this.client?.leave('site left');
  }

  private observe(dir: 'up' | 'down', msg: Message, bytes: number, url: string): void {
    if (dir === 'down' && msg.type === 'welcome' && !this.modelReady) {
      const modelUrl = httpUrl(url, msg.modelUrl);
      const ev = this.events;
      this.modelReady = this.worker
        .loadModel(
          modelUrl,
          proxy((done: number, total: number) => ev.model({ done, total })),
        )
        .then((info) => {
          ev.model({ done: 1, total: 1, info });
          return info;
        })
        .catch((e: unknown) => {
          const error = `model download failed: ${(e as Error).message}`;
          ev.model({ done: 0, total: 1, error });
          this.modelReady = null;
          throw new Error(error);
        });
    }
    if (dir === 'up' && msg.type === 'update') {
      const names = Object.keys(decodeUpdate(msg.deltas.bytes));
      const layers = [...new Set(names.map((n) => n.slice(0, n.indexOf('/'))))];
      this.events.uploaded(msg.round, layers, bytes);
    }
  }
}
