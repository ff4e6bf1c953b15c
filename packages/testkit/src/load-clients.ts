/**
 * Worker-thread entry for bench/coordinator.bench.ts: many lightweight fake sites on one
 * thread, so the coordinator's thread does only coordinator work. Each site answers with
 * precomputed payloads: random normalised scores, tiny-model-shaped deltas (encoded once per
 * assigned layer set) and a fixed evaluation.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  encodeUpdate,
  type Codec,
  type Message,
} from '@focus-fl/core/federated';
import { HEAD_LAYER, layerOf, mulberry32, type NamedArrays } from '@focus-fl/core';

interface Data {
  url: string;
  tokens: string[];
  shapes: Record<string, number[]>;
  layers: string[];
  codec: Codec;
  seed: number;
}

const d = workerData as Data;
const rand = mulberry32(d.seed);
const deltasFor = new Map<string, Uint8Array>();
const full: NamedArrays = {};
for (const [k, shape] of Object.entries(d.shapes)) {
  const n = shape.reduce((a, b) => a * b, 1);
  full[k] = { shape, data: Float32Array.from({ length: n }, () => (rand() - 0.5) * 1e-3) };
}
function encodedDeltas(layers: string[]): Uint8Array {
  const key = layers.join(',');
  let b = deltasFor.get(key);
  if (!b) {
    const part: NamedArrays = {};
    for (const [k, v] of Object.entries(full)) {
      const l = layerOf(k);
      if (l === HEAD_LAYER || layers.includes(l)) part[k] = v;
    }
    b = encodeUpdate(part, d.codec);
    deltasFor.set(key, b);
  }
  return b;
}

let finished = 0;
let opened = 0;
for (const token of d.tokens) {
  const ws = new WebSocket(d.url, { maxPayload: 256 * 1024 * 1024 });
  const scores = d.layers.map(() => rand() + 0.01);
  const sum = scores.reduce((a, b) => a + b, 0);
  const norm = scores.map((x) => x / sum);
  const send = (m: Message) => ws.send(encodeFrame(m));
  ws.on('open', () => {
    send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      token,
      backend: 'node',
      numSamples: 100,
      haveVersion: null,
    });
    if (++opened === d.tokens.length) parentPort?.postMessage({ type: 'connected' });
  });
  ws.on('message', (data: Buffer) => {
    const m = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    switch (m.type) {
      case 'round-start':
        if (m.phase === 'scores')
          send({
            type: 'scores',
            round: m.round,
            scores: { layers: d.layers, scores: norm },
            numSamples: 100,
            ms: 1,
          });
        else
          send({
            type: 'evaluation',
            round: m.round,
            metrics: { accuracy: 0.5, loss: 1, numSamples: 20, perType: {} },
          });
        return;
      case 'assignment':
        send({
          type: 'update',
          round: m.round,
          deltas: { codec: d.codec, bytes: encodedDeltas(m.layers) },
          numSamples: 100,
          metrics: { loss: 1, accuracy: 0.5, perType: {}, ms: 1 },
        });
        return;
      case 'round-end':
        if (m.done) ws.close();
        return;
      default:
        return;
    }
  });
  ws.on('close', () => {
    if (++finished === d.tokens.length) parentPort?.postMessage({ type: 'done' });
  });
  ws.on('error', (e) => parentPort?.postMessage({ type: 'error', message: e.message }));
}
