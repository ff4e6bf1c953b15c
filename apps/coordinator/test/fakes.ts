/**
 * Fakes for engine tests that need no tfjs: a 4-layer "model" of small vectors and a site whose
 * local objective is to move every param toward its own target. Training moves the assigned
 * layers (and the head) a fraction `lr` toward the target; "accuracy" is 1 - mean |w - target|,
 * so a federation that aggregates correctly raises the sample-weighted mean accuracy.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SiteClient, type LocalCompute } from '@focus-fl/core/federated';
import { layerOf, mulberry32, type NamedArrays } from '@focus-fl/core';
import { buildApp, type AppOptions } from '../src/app.js';
import { resolveConfig, type FederationConfig } from '../src/config.js';
import type { ModelSource } from '../src/model-source.js';
import { connectWs } from '../src/ws-transport.js';

export const LAYERS = ['block0.adapter', 'block1.adapter', 'block2.adapter', 'block3.adapter'];
const DIM = 8;

export function fakeModel(): ModelSource {
  const g: NamedArrays = {};
  for (const l of [...LAYERS, 'head']) g[`${l}/w`] = { shape: [DIM], data: new Float32Array(DIM) };
  return { layers: LAYERS, initialGlobal: g, baseBytes: new Uint8Array([1, 2, 3, 4]) };
}

export interface FakeSite extends LocalCompute {
  weights: NamedArrays;
  trained: { round: number; layers: string[] }[];
  /** Delay of train() in ms (to simulate slow sites). */
  trainDelay: number;
  poison?: 'nan' | 'unassigned' | 'shape';
}

export function fakeSite(seed: number, samples = 50): FakeSite {
  const rand = mulberry32(seed);
  const target: NamedArrays = {};
  const weights: NamedArrays = {};
  for (const l of [...LAYERS, 'head']) {
    // shared direction + site-specific noise: the federated optimum helps everyone
    target[`${l}/w`] = {
      shape: [DIM],
      data: Float32Array.from({ length: DIM }, (_, i) => 1 + (i % 3) * 0.5 + (rand() - 0.5) * 0.2),
    };
    weights[`${l}/w`] = { shape: [DIM], data: new Float32Array(DIM) };
  }
  const acc = () => {
    let err = 0;
    let n = 0;
    for (const [k, t] of Object.entries(target)) {
      const w = weights[k].data;
      for (let i = 0; i < DIM; i++) err += Math.abs(w[i] - t.data[i]);
      n += DIM;
    }
    return Math.max(0, 1 - err / n / 2);
  };
  const site: FakeSite = {
    weights,
    trained: [],
    trainDelay: 0,
    numSamples: () => samples,
    computeScores: async ({ layers }) => ({
      layers,
      scores: layers.map((_, i) => (i + 1 + rand() * 0.1) / 10.5),
    }),
    async train(layers, cfg) {
      site.trained.push({ round: cfg.round, layers: [...layers] });
      if (site.trainDelay) await new Promise((r) => setTimeout(r, site.trainDelay));
      const deltas: NamedArrays = {};
      for (const [k, w] of Object.entries(weights)) {
        const l = layerOf(k);
        if (l !== 'head' && !layers.includes(l)) continue;
        deltas[k] = {
          shape: [DIM],
          data: Float32Array.from(w.data, (x, i) => 0.5 * (target[k].data[i] - x)),
        };
      }
      if (site.poison === 'nan') deltas['head/w'].data[0] = NaN;
      if (site.poison === 'shape') {
        deltas['head/w'] = { shape: [DIM + 1], data: new Float32Array(DIM + 1) };
      }
      if (site.poison === 'unassigned') {
        const other = LAYERS.find((l) => !layers.includes(l))!;
        deltas[`${other}/w`] = { shape: [DIM], data: new Float32Array(DIM) };
      }
      return {
        deltas,
        // A fixed, site-specific step time and memory: the dashboard shows what sites report.
        metrics: {
          loss: 1 - acc(),
          accuracy: acc(),
          perType: {},
          stepMs: 10 + seed,
          memoryBytes: 1_000_000 * (seed + 1),
        },
      };
    },
    evaluate: async () => ({ accuracy: acc(), loss: 1 - acc(), numSamples: samples, perType: {} }),
    setGlobal(p) {
      for (const [k, v] of Object.entries(p)) weights[k] = { shape: v.shape, data: v.data.slice() };
    },
  };
  return site;
}

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'focus-fl-coord-'));
}

export function testConfig(over: Partial<FederationConfig> = {}): FederationConfig {
  // lntk (client-only) by default: no solver worker per round keeps the fault tests fast;
  // the federation, strategy and live-dashboard tests ask for f3ocus explicitly.
  return resolveConfig({
    strategy: 'lntk',
    rounds: 3,
    steps: 1,
    codec: 'fp32',
    minClients: 2,
    minCompletionRate: 0.5,
    quorumGraceMs: 50,
    solverMaxMs: 500,
    deadlines: { scores: 5000, train: 5000, evaluate: 5000 },
    // Plain FedAvg: these tests check the protocol against the masked mean itself.
    serverOptimizer: { name: 'fedavg' },
    ...over,
  });
}

/** Builds and listens on loopback; returns the app and its ws URL. */
export async function startCoordinator(opts: Partial<AppOptions> & { dataDir: string }) {
  const app = await buildApp({
    config: testConfig(),
    model: fakeModel(),
    adminToken: 'admin-secret',
    logger: process.env.DEBUG_COORD ? { level: 'info' } : false,
    ...opts,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { app, url: `ws://127.0.0.1:${port}/ws`, http: `http://127.0.0.1:${port}` };
}

export function runSite(url: string, token: string, site: FakeSite) {
  const client = new SiteClient({ token, backend: 'node', compute: site });
  const done = client.run(() => connectWs(url), { retries: 3, backoffMs: 50 });
  return { client, done };
}
