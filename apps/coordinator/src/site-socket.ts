/**
 * One site's WebSocket: frame limits, decoding and validation (protocol.ts), the hello
 * handshake (version + join token), and routing of round messages to the engine.
 *
 * Bad frames (malformed msgpack, schema-invalid, over the size limit, before hello) each get an
 * `error` frame; after MAX_BAD_FRAMES of them the socket is closed (1008). Frames above the ws
 * hard cap (twice the soft limit) are closed by ws itself with 1009.
 */
import type { WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  errorMessage,
  type Message,
} from '@focus-fl/core/federated';
import type { Logger, RoundEngine, SiteSession } from './engine.js';
import { siteBudget } from './config.js';
import type { Store } from './store.js';

export const MAX_BAD_FRAMES = 3;

export interface SocketContext {
  engine: RoundEngine;
  store: Store;
  log: Logger;
  maxFrameBytes: number;
  strategy: string;
  /** Ping interval; a socket that misses a whole interval's pong is terminated. */
  heartbeatMs?: number;
}

export function handleSiteSocket(socket: WebSocket, ctx: SocketContext): void {
  let session: SiteSession | null = null;
  let badFrames = 0;

  const sendRaw = (msg: Message) => {
    if (socket.readyState !== socket.OPEN) return;
    const bytes = encodeFrame(msg);
    ctx.engine.countBytes('down', bytes.byteLength);
    socket.send(bytes);
  };
  const bad = (err: ProtocolError | Error, code: ProtocolError['code'] = 'bad-frame') => {
    const c = err instanceof ProtocolError ? err.code : code;
    ctx.log.warn({ site: session?.site, code: c, err: err.message }, 'bad frame');
    sendRaw(errorMessage(c, err.message));
    if (++badFrames >= MAX_BAD_FRAMES) socket.close(1008, 'too many bad frames');
  };

  // Attached synchronously, before any await, so no frame is lost.
  socket.on('message', (data, isBinary) => {
    const buf = toBytes(data);
    ctx.engine.countBytes('up', buf.byteLength);
    if (!isBinary) return bad(new ProtocolError('bad-frame', 'frames must be binary msgpack'));
    let msg: Message;
    try {
      msg = decodeFrame(buf, ctx.maxFrameBytes);
    } catch (e) {
      return bad(e as Error);
    }
    try {
      route(msg);
    } catch (e) {
      ctx.log.error({ err: e, site: session?.site }, 'internal error handling a frame');
      sendRaw(errorMessage('internal', 'internal error'));
    }
  });
  // Heartbeat: a tab that vanished without a close frame (sleep, network loss) is detected
  // and its contribution dropped instead of holding the phase until its deadline.
  let alive = true;
  socket.on('pong', () => (alive = true));
  const beat = setInterval(() => {
    if (!alive) {
      ctx.log.warn({ site: session?.site }, 'no pong: terminating socket');
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, ctx.heartbeatMs ?? 30_000);
  beat.unref();
  socket.on('close', () => {
    clearInterval(beat);
    if (session) {
      ctx.engine.leave(session);
      ctx.log.info({ site: session.site }, 'site left');
    }
  });
  socket.on('error', (e) => ctx.log.warn({ err: e.message, site: session?.site }, 'socket error'));

  function route(msg: Message): void {
    switch (msg.type) {
      case 'hello':
        return hello(msg);
      case 'scores':
      case 'update':
      case 'evaluation':
        if (!session) return bad(new ProtocolError('not-joined', `"${msg.type}" before hello`));
        return ctx.engine.onMessage(session, msg);
      case 'error':
        if (session) ctx.engine.siteFailed(session, msg.round, `${msg.code}: ${msg.message}`);
        else ctx.log.warn({ code: msg.code, err: msg.message }, 'error frame before hello');
        return;
      case 'bye':
        socket.close(1000, 'bye');
        return;
      case 'welcome':
      case 'round-start':
      case 'assignment':
      case 'round-end':
        return bad(new ProtocolError('unexpected', `a site may not send "${msg.type}"`));
      default: {
        const never: never = msg;
        return bad(new ProtocolError('bad-frame', `unhandled ${JSON.stringify(never)}`));
      }
    }
  }

  function hello(msg: Extract<Message, { type: 'hello' }>): void {
    if (session) return bad(new ProtocolError('unexpected', 'hello sent twice'));
    if (msg.version !== PROTOCOL_VERSION) {
      sendRaw(
        errorMessage(
          'version',
          `protocol version ${msg.version} is not supported; this coordinator speaks ${PROTOCOL_VERSION}`,
        ),
      );
      socket.close(4002, 'protocol version');
      return;
    }
    const site = ctx.store.siteByToken(msg.token);
    if (!site) {
      ctx.log.warn({}, 'hello with an unknown join token');
      sendRaw(errorMessage('auth', 'unknown join token'));
      socket.close(4001, 'auth');
      return;
    }
    ctx.store.touchSite(site.name, msg.backend);
    const budget = siteBudget(ctx.engine.cfg, site);
    const s: SiteSession = {
      site: site.name,
      budget,
      backend: msg.backend,
      knownVersion: msg.haveVersion,
      send: sendRaw,
      close: (code, reason) => socket.close(code, reason),
    };
    session = s;
    const e = ctx.engine;
    sendRaw({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      site: site.name,
      budget,
      layers: e.layers,
      strategy: ctx.strategy,
      round: e.round,
      totalRounds: e.cfg.rounds,
      modelUrl: '/model/base.safetensors',
    });
    ctx.log.info(
      { site: site.name, backend: msg.backend, numSamples: msg.numSamples },
      'site joined',
    );
    if (e.phase === 'done') {
      sendRaw({
        type: 'round-end',
        round: e.version,
        status: 'completed',
        accuracy: null,
        done: true,
      });
      return;
    }
    e.join(s);
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data as Buffer[]));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(0);
}
