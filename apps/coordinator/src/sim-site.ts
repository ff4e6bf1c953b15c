/**
 * A simulated site in Node: a synthetic client's data (train split for scores and training,
 * test split for held-out evaluation) on the core model, computed by core's ModelCompute —
 * the same LocalCompute the browser worker uses — and plugged into the shared SiteClient.
 */
import type { ClientData, ClientName, VqaSample } from '@focus-fl/core/data';
import { CLIENT_NAMES, syntheticClient } from '@focus-fl/core/data';
import { loadModel, type VqaModel } from '@focus-fl/core/model';
import type { LocalCompute } from '@focus-fl/core/federated';
import { LOCAL_METRIC_SAMPLES, ModelCompute } from '@focus-fl/core/site';

export interface SimSiteOptions {
  /** A synthetic client's name, or any site name when `data` is given. */
  name: ClientName | string;
  /** Seeds the site's synthetic data (the round seeds come from the coordinator). */
  seed: number;
  /** Base checkpoint (as served at /model/base.safetensors). */
  baseBytes: Uint8Array;
  scale?: number;
  floor?: number;
  /** Cap on held-out samples evaluated per round, and on the local-metric slice (speed). */
  maxTest?: number;
  lntkSamples?: number;
  /** The site's own train/test split instead of the synthetic client `name` (experiment
   * settings: domain-shifted or label-skewed sites). */
  data?: ClientData;
}

export interface SimSite extends LocalCompute {
  name: string;
  model: VqaModel;
  train: LocalCompute['train'];
  data: { train: VqaSample[]; test: VqaSample[] };
  trained: { round: number; layers: string[] }[];
  dispose(): void;
}

export function createSimSite(o: SimSiteOptions): SimSite {
  const data =
    o.data ?? syntheticClient(clientName(o.name), { seed: o.seed, scale: o.scale, floor: o.floor });
  const test = o.maxTest ? data.test.slice(0, o.maxTest) : data.test;
  const model = loadModel(o.baseBytes);
  const compute = new ModelCompute({
    model,
    train: data.train,
    test,
    lntkSamples: o.lntkSamples,
    metricSamples: o.maxTest ? Math.min(o.maxTest, LOCAL_METRIC_SAMPLES) : undefined,
  });
  const trained: { round: number; layers: string[] }[] = [];
  return {
    name: o.name,
    model,
    data: { train: data.train, test },
    trained,
    numSamples: () => compute.numSamples(),
    computeScores: (req) => compute.computeScores(req),
    async train(layers, cfg) {
      trained.push({ round: cfg.round, layers: [...layers] });
      return compute.train(layers, cfg);
    },
    evaluate: (cfg) => compute.evaluate(cfg),
    setGlobal: (params) => compute.setGlobal(params),
    dispose() {
      model.dispose();
    },
  };
}

function clientName(name: string): ClientName {
  if (!(CLIENT_NAMES as readonly string[]).includes(name)) {
    throw new Error(
      `site "${name}" is not a synthetic client (${CLIENT_NAMES.join(', ')}); pass its data`,
    );
  }
  return name as ClientName;
}
