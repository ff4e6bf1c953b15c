/**
 * The coordinator <-> site wire protocol: one versioned union of messages, validated in full
 * (TypeBox) in both directions, carried as binary msgpack frames.
 *
 * Flow of one round (docs/interfaces.md, "Federated"):
 *   hello -> welcome                         (once per connection; token + version check)
 *   round-start{phase:'scores'}   -> scores   (global weights that changed + round config)
 *   assignment                    -> update   (the layers this site trains; encoded deltas)
 *   round-start{phase:'evaluate'} -> evaluation (new global weights; held-out metrics)
 *   round-end                                 (aggregated metrics; next round or done)
 * `error` may come from either side; `bye` ends a connection politely.
 *
 * Global evaluation: the coordinator holds no data. After aggregating round r it sends the new
 * global weights with phase 'evaluate'; each site evaluates them on its own held-out split and
 * reports accuracy and its sample count. Global held-out accuracy is the sample-weighted mean
 * of those reports. Round 0's evaluation phase (before any training) gives the base accuracy.
 *
 * Browser-safe: no Node APIs.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { SCORER_METHODS } from '../importance/methods.js';
import { CODECS, type Codec } from './codecs.js';
import { ANSWER_MASKS, LOCAL_OPTIMIZERS } from '../train/recipe-names.js';
import { PERSONALIZATIONS } from './personalization.js';

export type { Codec };

/**
 * Bumped on any incompatible change of a message; checked on hello.
 * 2: `scores` carries named pairs `{layers, scores}` instead of a bare list.
 */
export const PROTOCOL_VERSION = 2;

/** Opaque byte payloads (encoded updates / global weights). */
const Bytes = Type.Refine(Type.Unsafe<Uint8Array>({}), (v) => v instanceof Uint8Array);
const Round = Type.Integer({ minimum: 0 });
const Count = Type.Integer({ minimum: 0 });
// TypeBox's Number check rejects NaN and +-Infinity (tested), so every number is finite.
const Finite = Type.Number();
const closed = { additionalProperties: false } as const;

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu', 'node'] as const;
export type Backend = (typeof BACKENDS)[number];
/** What a round asks sites to score with: importance's scorer methods, or 'none'. */
export const SCORE_METHODS = [...SCORER_METHODS, 'none'] as const;
export type ScoreMethod = (typeof SCORE_METHODS)[number];

export const ERROR_CODES = [
  'bad-frame', // not msgpack, or not a valid message
  'too-large', // frame over the size limit
  'version', // protocol version mismatch
  'auth', // missing / wrong join token
  'not-joined', // message before a successful hello
  'stale-round', // message for a round / phase that is not the current one
  'bad-update', // NaN/Inf, wrong shapes, unknown or unassigned layers
  'bad-scores', // wrong length, negative or non-finite scores
  'unexpected', // valid message in a state where it makes no sense
  'duplicate', // a second connection for the same site replaced this one
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

// Type.Enum's static type widens to string; pin it to the literal union.
const Lit = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>(Type.Enum([...values]));

/** Encoded named tensors plus the codec that encoded them. */
const Encoded = Type.Object({ codec: Lit(CODECS), bytes: Bytes }, closed);

/**
 * Global weights sent to a site: `full` replaces everything the site holds; otherwise only the
 * layers that changed since version `from` (the site must hold exactly that version).
 */
const GlobalWeights = Type.Object(
  { version: Round, from: Type.Union([Round, Type.Null()]), params: Encoded },
  closed,
);

const TypeMetric = Type.Object({ accuracy: Finite, n: Count }, closed);
const EvalMetrics = Type.Object(
  {
    accuracy: Finite,
    loss: Finite,
    numSamples: Count,
    perType: Type.Record(Type.String(), TypeMetric),
    /**
     * Under a personalization (federated/personalization.ts) the fields above are the site's
     * own model; these are the global model's on the same held-out split, reported beside.
     */
    shared: Type.Optional(Type.Object({ accuracy: Finite, loss: Finite }, closed)),
  },
  closed,
);

export const RoundConfig = Type.Object(
  {
    scoreMethod: Lit(SCORE_METHODS),
    steps: Type.Integer({ minimum: 1 }),
    batchSize: Type.Integer({ minimum: 1 }),
    lr: Type.Number({ exclusiveMinimum: 0 }),
    weightDecay: Type.Number({ minimum: 0 }),
    codec: Lit(CODECS),
    budget: Type.Integer({ minimum: 0 }),
    seed: Type.Integer(),
    // The local recipe (docs/federated-recipe.md); optional so that a coordinator that does
    // not send them means AdamW, no proximal term and no answer mask.
    localOptimizer: Type.Optional(Lit(LOCAL_OPTIMIZERS)),
    momentum: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
    proxMu: Type.Optional(Type.Number({ minimum: 0 })),
    /** Prediction rule of training and of the evaluate phase alike. */
    answerMask: Type.Optional(Lit(ANSWER_MASKS)),
    /**
     * The model the site uses and evaluates (federated/personalization.ts); absent = 'none'
     * (the global one). It changes nothing in what the site sends.
     */
    personalization: Type.Optional(Lit(PERSONALIZATIONS)),
  },
  closed,
);
export type RoundConfig = Static<typeof RoundConfig>;

const messages = {
  hello: Type.Object(
    {
      type: Type.Literal('hello'),
      version: Type.Integer(),
      token: Type.String({ maxLength: 256 }),
      backend: Lit(BACKENDS),
      numSamples: Count,
      /** Global version the site already holds (reconnect), or null. */
      haveVersion: Type.Union([Round, Type.Null()]),
    },
    closed,
  ),
  welcome: Type.Object(
    {
      type: Type.Literal('welcome'),
      version: Type.Integer(),
      site: Type.String(),
      budget: Count,
      layers: Type.Array(Type.String()),
      strategy: Type.String(),
      round: Round,
      totalRounds: Count,
      modelUrl: Type.String(),
    },
    closed,
  ),
  'round-start': Type.Object(
    {
      type: Type.Literal('round-start'),
      round: Round,
      phase: Type.Union([Type.Literal('scores'), Type.Literal('evaluate')]),
      global: Type.Union([GlobalWeights, Type.Null()]),
      config: RoundConfig,
    },
    closed,
  ),
  scores: Type.Object(
    {
      type: Type.Literal('scores'),
      round: Round,
      /**
       * Named scores: `scores.scores[i]` is the score of layer `scores.layers[i]` (any order;
       * LNTK rows sum to 1). Names travel; positions appear only at the solver's edge.
       */
      scores: Type.Object(
        { layers: Type.Array(Type.String()), scores: Type.Array(Finite) },
        closed,
      ),
      numSamples: Count,
      ms: Finite,
    },
    closed,
  ),
  assignment: Type.Object(
    {
      type: Type.Literal('assignment'),
      round: Round,
      layers: Type.Array(Type.String()),
    },
    closed,
  ),
  update: Type.Object(
    {
      type: Type.Literal('update'),
      round: Round,
      /** Deltas of exactly the assigned layers' params plus the head. */
      deltas: Encoded,
      numSamples: Count,
      metrics: Type.Object(
        {
          loss: Finite,
          accuracy: Finite,
          perType: Type.Record(Type.String(), TypeMetric),
          ms: Finite,
          /** Measured mean time of one local training step (the operator sets budgets from it). */
          stepMs: Type.Optional(Finite),
          /** Backend memory the site held after training (a wasm heap: its high-water mark). */
          memoryBytes: Type.Optional(Count),
        },
        closed,
      ),
    },
    closed,
  ),
  evaluation: Type.Object(
    { type: Type.Literal('evaluation'), round: Round, metrics: EvalMetrics },
    closed,
  ),
  'round-end': Type.Object(
    {
      type: Type.Literal('round-end'),
      round: Round,
      status: Type.Union([Type.Literal('completed'), Type.Literal('aborted')]),
      accuracy: Type.Union([Finite, Type.Null()]),
      done: Type.Boolean(),
      reason: Type.Optional(Type.String()),
    },
    closed,
  ),
  error: Type.Object(
    {
      type: Type.Literal('error'),
      code: Lit(ERROR_CODES),
      message: Type.String(),
      round: Type.Optional(Round),
    },
    closed,
  ),
  bye: Type.Object({ type: Type.Literal('bye'), reason: Type.String() }, closed),
} as const;

export type MessageType = keyof typeof messages;
export const MESSAGE_TYPES = Object.keys(messages) as MessageType[];

export const Message = Type.Union([
  messages.hello,
  messages.welcome,
  messages['round-start'],
  messages.scores,
  messages.assignment,
  messages.update,
  messages.evaluation,
  messages['round-end'],
  messages.error,
  messages.bye,
]);
export type Message = Static<typeof Message>;
/** The member of the union with the given `type` (DISCO's `Narrow`). */
export type Narrow<T extends MessageType> = Extract<Message, { type: T }>;

// One compiled validator per message type: validating the member chosen by `type` gives
// errors about that member only (a union check reports every member's mismatch).
const validators = Object.fromEntries(
  Object.entries(messages).map(([k, s]) => [k, Compile(s as TSchema)]),
) as Record<MessageType, ReturnType<typeof Compile>>;

/** A frame that is not a valid protocol message; `code` is the error code to answer with. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Throws ProtocolError('bad-frame') naming the first offending field. */
export function validateMessage(value: unknown): Message {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('bad-frame', 'message must be a map with a "type" field');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in messages)) {
    throw new ProtocolError(
      'bad-frame',
      `unknown message type ${JSON.stringify(type)}; expected one of ${MESSAGE_TYPES.join(', ')}`,
    );
  }
  const v = validators[type as MessageType];
  if (!v.Check(value)) {
    const first = [...v.Errors(value)].slice(0, 3);
    const what = first
      .map((e) => `${e.instancePath || '/'} ${e.message}${paramsText(e.params)}`)
      .join('; ');
    throw new ProtocolError('bad-frame', `invalid "${type}" message: ${what}`);
  }
  return value as Message;
}

function paramsText(params: unknown): string {
  if (!params || typeof params !== 'object') return '';
  const p = params as Record<string, unknown>;
  if (Array.isArray(p.additionalProperties)) return ` (${p.additionalProperties.join(', ')})`;
  if (Array.isArray(p.requiredProperties)) return ` (${p.requiredProperties.join(', ')})`;
  return '';
}

/** Validate then msgpack-encode. A message that fails validation is a bug on our side: throws. */
export function encodeFrame(message: Message): Uint8Array {
  validateMessage(message);
  return msgpackEncode(message);
}

/**
 * Decode and validate a frame. Binary fields come back as standalone copies: msgpack hands out
 * views into the (pooled) receive buffer, which the caller must not keep.
 */
export function decodeFrame(bytes: Uint8Array, maxBytes = Infinity): Message {
  if (bytes.byteLength > maxBytes) {
    throw new ProtocolError('too-large', `frame of ${bytes.byteLength} bytes exceeds ${maxBytes}`);
  }
  let value: unknown;
  try {
    value = msgpackDecode(bytes);
  } catch (e) {
    throw new ProtocolError('bad-frame', `malformed msgpack: ${(e as Error).message}`);
  }
  const msg = validateMessage(value);
  copyBinaries(msg);
  return msg;
}

function copyBinaries(value: unknown): void {
  if (!value || typeof value !== 'object') return;
  for (const [k, x] of Object.entries(value)) {
    // new Uint8Array(x) copies; Buffer#slice (Node) would not.
    if (x instanceof Uint8Array) (value as Record<string, unknown>)[k] = new Uint8Array(x);
    else if (x && typeof x === 'object') copyBinaries(x);
  }
}

/** Build an error message (convenience for both sides). */
export function errorMessage(code: ErrorCode, message: string, round?: number): Narrow<'error'> {
  return round === undefined
    ? { type: 'error', code, message }
    : { type: 'error', code, message, round };
}

/** Compile-time exhaustiveness for `switch (msg.type)`. */
export function assertNever(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}
