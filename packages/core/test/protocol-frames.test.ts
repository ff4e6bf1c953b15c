import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  type Message,
} from '../src/federated/protocol.js';

const config = {
  scoreMethod: 'lntk',
  steps: 2,
  batchSize: 4,
  lr: 1e-3,
  weightDecay: 0,
  codec: 'fp16',
  budget: 2,
  seed: 7,
} as const;

const samples: Message[] = [
  {
    type: 'hello',
    version: PROTOCOL_VERSION,
    token: 't',
    backend: 'node',
    numSamples: 10,
    haveVersion: null,
  },
  {
    type: 'welcome',
    version: PROTOCOL_VERSION,
    site: 'a',
    budget: 2,
    layers: ['block0.adapter'],
    strategy: 'f3ocus',
    round: 1,
    totalRounds: 3,
    modelUrl: '/model/base.safetensors',
  },
  {
    type: 'round-start',
    round: 1,
    phase: 'scores',
    global: { version: 0, from: null, params: { codec: 'fp32', bytes: new Uint8Array([1, 2]) } },
    config,
  },
  {
    type: 'scores',
    round: 1,
    scores: { layers: ['block0.adapter', 'block1.adapter'], scores: [0.25, 0.75] },
    numSamples: 10,
    ms: 3,
  },
  { type: 'assignment', round: 1, layers: ['block1.adapter'] },
  {
    type: 'update',
    round: 1,
    deltas: { codec: 'int8', bytes: new Uint8Array(8) },
    numSamples: 10,
    metrics: { loss: 1, accuracy: 0.5, perType: { diagnosis: { accuracy: 0.5, n: 4 } }, ms: 9 },
  },
  {
    type: 'evaluation',
    round: 1,
    metrics: { accuracy: 0.6, loss: 0.9, numSamples: 5, perType: {} },
  },
  { type: 'round-end', round: 1, status: 'completed', accuracy: 0.6, done: false },
  { type: 'error', code: 'stale-round', message: 'x', round: 1 },
  { type: 'bye', reason: 'done' },
];

describe('protocol frames', () => {
  it('round-trips every message type, bytes intact', () => {
    for (const m of samples) {
      const back = decodeFrame(encodeFrame(m));
      expect(back).toEqual(m);
    }
  });

  it('returns standalone byte copies, not views into the receive buffer', () => {
    const frame = encodeFrame(samples[2]);
    const pooled = new Uint8Array(frame.length + 16);
    pooled.set(frame, 16);
    const m = decodeFrame(pooled.subarray(16)) as Extract<Message, { type: 'round-start' }>;
    const bytes = m.global!.params.bytes;
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(2);
  });

  it('rejects malformed msgpack with bad-frame', () => {
    expect(() => decodeFrame(new Uint8Array([0xc1]))).toThrowError(/malformed msgpack/);
    try {
      decodeFrame(new Uint8Array([0xc1]));
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      expect((e as ProtocolError).code).toBe('bad-frame');
    }
  });

  it('names the offending field of a schema-invalid frame', () => {
    const bad = encode({ type: 'scores', round: -1, scores: [0.5], numSamples: 1, ms: 0 });
    expect(() => decodeFrame(bad)).toThrowError(/invalid "scores" message: \/round/);
    const extra = encode({ type: 'bye', reason: 'x', sneaky: 1 });
    expect(() => decodeFrame(extra)).toThrowError(/sneaky/);
    const missing = encode({ type: 'assignment', round: 1 });
    expect(() => decodeFrame(missing)).toThrowError(/layers/);
    const wrongBytes = encode({
      type: 'update',
      round: 1,
      deltas: { codec: 'fp32', bytes: [1, 2, 3] },
      numSamples: 1,
      metrics: { loss: 0, accuracy: 0, perType: {}, ms: 0 },
    });
    expect(() => decodeFrame(wrongBytes)).toThrowError(/\/deltas\/bytes/);
    const badCodec = encode({ type: 'bye', reason: 1 });
    expect(() => decodeFrame(badCodec)).toThrowError(/\/reason/);
    const badEnum = encode({ ...samples[0], backend: 'gpu' });
    expect(() => decodeFrame(badEnum)).toThrowError(/\/backend must be equal to one of/);
  });

  it('rejects unknown types, non-maps and non-finite numbers', () => {
    expect(() => decodeFrame(encode({ type: 'nope' }))).toThrowError(/unknown message type "nope"/);
    expect(() => decodeFrame(encode([1, 2]))).toThrowError(/must be a map/);
    const named = (scores: number[]) =>
      encode({
        type: 'scores',
        round: 1,
        scores: { layers: ['a', 'b'], scores },
        numSamples: 1,
        ms: 0,
      });
    expect(() => decodeFrame(named([NaN, 1]))).toThrowError(/\/scores\/scores\/0/);
    expect(() => decodeFrame(named([1, Infinity]))).toThrowError(/\/scores\/scores\/1/);
    // Version 1's bare list of scores is no longer a valid scores message.
    const bare = encode({ type: 'scores', round: 1, scores: [0.5, 0.5], numSamples: 1, ms: 0 });
    expect(() => decodeFrame(bare)).toThrowError(/\/scores must be object/);
  });

  it('refuses frames over the size limit before decoding', () => {
    const f = encodeFrame(samples[5]);
    try {
      decodeFrame(f, f.length - 1);
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).code).toBe('too-large');
    }
  });

  it('encodeFrame refuses to send an invalid message', () => {
    const bad = { type: 'assignment', round: 1.5, layers: [] } as unknown as Message;
    expect(() => encodeFrame(bad)).toThrowError(/round/);
  });
});
